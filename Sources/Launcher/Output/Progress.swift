import ArgumentParser
import Foundation
import Stages

/// How a sampling run reports progress on stderr.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    /// `line` on a terminal, else `log`.
    case auto
    /// One line redrawn in place, cut to the terminal's width.
    case line
    /// A plain line every --progress-interval seconds (logs, mpirun).
    case log
    /// One JSON object a line, every --progress-interval seconds, and at the end.
    case json
    case none
}

/// `dit sample`'s progress flags.
struct ProgressOptions: ParsableArguments {
    @Option(help: "auto (a live line on a terminal, else a plain line every --progress-interval seconds), line, log, json (one object a line) or none.")
    var progress: ProgressMode = .auto
    @Option(help: "Seconds between progress lines when stderr is not a terminal, and between --progress json objects.")
    var progressInterval: Double = 10
    @Flag(name: .shortAndLong, help: "No progress and no summary; errors only.") var quiet = false

    /// Whether human-readable lines (summaries, bulk chunks) go to stderr.
    var talks: Bool { mode == .line || mode == .log }

    var mode: ProgressMode {
        if quiet { return .none }
        if progress == .auto { return isatty(2) != 0 ? .line : .log }
        return progress
    }
}

/// Progress of one sampling run, on world rank 0 (stage 0 of replica 0,
/// which sees every step of its micro-batches; the other replicas keep
/// pace). Counts model updates (step × micro-batch); an image is done when
/// its micro-batch has taken the last step.
final class Progress {
    let mode: ProgressMode
    let interval: Double
    let label: String
    let steps: Int, microbatches: Int, images: Int
    let start = Date()
    var updates = 0, finished = 0
    var lastReport = Date.distantPast

    init(plan: SamplingPlan, replica: Int, options: ProgressOptions, label: String = "") {
        mode = options.mode
        interval = options.progressInterval
        self.label = label
        steps = plan.steps
        microbatches = plan.microbatches(replica: replica)
        images = plan.run.classes.count
    }

    var total: Int { steps * microbatches }
    var elapsed: Double { Date().timeIntervalSince(start) }
    var imagesDone: Int { finished * images / max(microbatches, 1) }
    /// Images' worth of work per second (all replicas), from the updates done.
    var imagesPerSecond: Double { Double(images) * Double(updates) / Double(max(total, 1)) / max(elapsed, 1e-9) }
    var eta: Double { Double(total - updates) * elapsed / Double(max(updates, 1)) }

    func update(step: Int, microbatch: Int) {
        updates += 1
        if step == steps - 1 { finished += 1 }
        guard mode != .none, updates < total else { return }
        let now = Date()
        if mode == .line ? now.timeIntervalSince(lastReport) < 0.1 : now.timeIntervalSince(lastReport) < interval { return }
        lastReport = now
        report(step: step + 1)
    }

    func report(step: Int) {
        switch mode {
        case .line:
            let text = "\(label)step \(step)/\(steps)  images \(imagesDone)/\(images)  " + String(format: "%.3g images/s", imagesPerSecond)
                + "  ETA \(Self.duration(eta))"
            // Cut to the terminal so the line never wraps; erase what a longer one left.
            write("\r" + String(text.prefix(max(Self.terminalWidth - 1, 10))) + "\u{1B}[K")
        case .log:
            write("dit: \(label)step \(step)/\(steps), images \(imagesDone)/\(images), " + String(format: "%.3g images/s", imagesPerSecond)
                  + ", elapsed \(Self.duration(elapsed)), ETA \(Self.duration(eta))\n")
        case .json:
            write(json(event: "progress", step: step))
        case .auto, .none:
            break
        }
    }

    func json(event: String, step: Int) -> String {
        let fields: [(String, Any)] = [("event", event), ("step", step), ("steps", steps), ("images_done", imagesDone),
                                       ("images", images), ("images_per_second", imagesPerSecond),
                                       ("elapsed_seconds", elapsed), ("eta_seconds", eta)]
        let body = fields.map { k, v in
            let value: String
            switch v {
            case let s as String: value = "\"\(s)\""
            case let d as Double: value = String(format: "%.4g", d)
            default: value = "\(v)"
            }
            return "\"\(k)\": \(value)"
        }
        return "{" + body.joined(separator: ", ") + (label.isEmpty ? "" : ", \"label\": \"\(label.trimmingCharacters(in: .whitespaces))\"") + "}\n"
    }

    func finish() {
        switch mode {
        case .line: write("\r\u{1B}[K")
        case .json: write(json(event: "done", step: steps))
        default: break
        }
    }

    func write(_ s: String) { Stderr.write(s) }

    static var terminalWidth: Int {
        var size = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    }

    /// "42 s", "3 min 20 s", "2 h 05 min".
    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        if t < 60 { return "\(t) s" }
        if t < 3600 { return "\(t / 60) min \(t % 60) s" }
        return String(format: "%d h %02d min", t / 3600, t % 3600 / 60)
    }
}
