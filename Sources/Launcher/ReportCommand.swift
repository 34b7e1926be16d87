import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit report`: per-stage busy, exposed communication and bubble from the
/// ranks' Chrome traces, against the predicted bubble; optionally the
/// timeline as an SVG picture.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Summarise per-rank traces (from dit sample --trace) and draw the timeline.")

    @Argument(help: "Trace files, one per rank (PATH.rankN.json).") var traces: [String]
    @Option(help: "Write the timeline as SVG here.") var svg: String?

    struct RankTrace {
        var rank = 0, stage = 0, images = 0, steps = 0, microbatches = 0, stages = 1
        var spans: [(name: String, category: String, start: Double, duration: Double)] = []
    }

    func load(_ path: String) throws -> RankTrace {
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let events = json["traceEvents"] as? [[String: Any]] else {
            throw DiTError("\(path): not a Chrome trace written by dit sample --trace")
        }
        var t = RankTrace()
        for e in events {
            let name = e["name"] as? String ?? ""
            // The args mix integers with strings (the GEMM backend): read the integers.
            if name == "dit_run", let args = e["args"] as? [String: Any] {
                let a = args.compactMapValues { $0 as? Int }
                t.rank = a["rank"] ?? 0; t.stage = a["stage"] ?? 0; t.images = a["images"] ?? 0
                t.steps = a["steps"] ?? 0; t.microbatches = a["microbatches"] ?? 0; t.stages = a["stages"] ?? 1
            } else if e["ph"] as? String == "X" {
                t.spans.append((name, e["cat"] as? String ?? "", (e["ts"] as? Double ?? 0) / 1e6, (e["dur"] as? Double ?? 0) / 1e6))
            }
        }
        return t
    }

    func run() throws {
        let ranks = try traces.map(load).sorted { $0.rank < $1.rank }
        guard let first = ranks.first, !ranks.allSatisfy({ $0.spans.isEmpty }) else { throw DiTError("no spans in the traces") }
        // The run spans from the first forward (stage 0's F0@0) to the last
        // compute or sampler span: waiting for slower ranks to start up is
        // not part of the schedule.
        let work = ranks.flatMap { $0.spans.filter { $0.category == "compute" || $0.category == "sampler" } }
        let start = work.map(\.start).min() ?? ranks.flatMap { $0.spans.map(\.start) }.min()!
        let end = work.map { $0.start + $0.duration }.max() ?? ranks.flatMap { $0.spans.map { $0.start + $0.duration } }.max()!
        let wall = end - start
        print(String(format: "wall %.3f s over %d rank(s); %d steps × %d micro-batches × %d stages", wall, ranks.count,
                     first.steps, first.microbatches, first.stages))
        print("rank stage   busy %   comm wait %   send/recv %   idle (bubble) %")
        var bubbles: [Double] = []
        for r in ranks {
            func total(_ cats: Set<String>) -> Double { r.spans.filter { cats.contains($0.category) }.map(\.duration).reduce(0, +) }
            func clipped(_ cats: Set<String>) -> Double {
                r.spans.filter { cats.contains($0.category) }
                    .map { max(0, min($0.start + $0.duration, end) - max($0.start, start)) }.reduce(0, +)
            }
            let busy = total(["compute", "sampler"]), wait = clipped(["wait"]), comm = total(["send", "receive"])
            let idle = max(0, 1 - busy / wall)
            bubbles.append(idle)
            print(String(format: "%4d %5d   %6.2f   %11.2f   %11.2f   %15.2f", r.rank, r.stage, 100 * busy / wall,
                         100 * wait / wall, 100 * comm / wall, 100 * idle))
        }
        let s = Double(first.stages), tm = Double(first.steps * first.microbatches)
        let predicted = (s - 1) / (tm + s - 1)
        print(String(format: "mean bubble %.2f %% (predicted (S−1)/(T·M+S−1) = %.2f %%)",
                     100 * bubbles.reduce(0, +) / Double(bubbles.count), 100 * predicted))
        let images = ranks.filter { $0.stage == 0 }.map(\.images).reduce(0, +)
        print(String(format: "%d images in %.3f s: %.3f images/s", images, wall, Double(images) / wall))
        if let svg { try AtomicFile.write(Data(timeline(ranks, start: start, wall: wall).utf8), to: svg) }
    }

    func timeline(_ ranks: [RankTrace], start: Double, wall: Double) -> String {
        let width = 1200.0, row = 28.0, left = 90.0
        let colors = ["compute": "#4a90d9", "sampler": "#7bc96f", "wait": "#e07a5f", "send": "#f2cc8f", "receive": "#b8a1d9"]
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width + left + 10))\" height=\"\(Int(Double(ranks.count) * row + 50))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        for (i, r) in ranks.enumerated() {
            let y = Double(i) * row + 10
            out += "<text x=\"4\" y=\"\(y + 17)\">rank \(r.rank) (s\(r.stage))</text>\n"
            for span in r.spans where span.duration > 0 {
                let x = left + (span.start - start) / wall * width, w = max(0.5, span.duration / wall * width)
                out += String(format: "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%@\"><title>%@</title></rect>\n",
                              x, y, w, row - 6, colors[span.category] ?? "#999", span.name)
            }
        }
        let y = Double(ranks.count) * row + 30
        var x = left
        for (name, color) in colors.sorted(by: { $0.key < $1.key }) {
            out += "<rect x=\"\(x)\" y=\"\(y - 10)\" width=\"12\" height=\"12\" fill=\"\(color)\"/><text x=\"\(x + 16)\" y=\"\(y)\">\(name)</text>\n"
            x += 110
        }
        out += String(format: "<text x=\"%.0f\" y=\"%.0f\">%.3f s</text>\n</svg>\n", left + width - 60, y, wall)
        return out
    }
}
