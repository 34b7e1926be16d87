import ArgumentParser
import Foundation
import Stages
import Tensors

/// `dit report`: per-stage busy, exposed communication and bubble from the
/// ranks' Chrome traces, against the predicted bubble; optionally the
/// timeline as an SVG picture.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Summarise per-rank traces (from dit sample --trace) and draw the timeline.",
        discussion: """
            Idle time is split into the pipeline's fill/drain bubble (before a rank's first and after its last \
            compute) and the waits in between (messages in flight, slower neighbours, ranks sharing cores).

            Example: dit report out/trace.rank*.json --merge out/trace.json --svg out/timeline.svg
            """)

    @Argument(help: "Trace files, one per rank (PATH.rankN.json).") var traces: [String]
    @Option(help: "Write the timeline as SVG here.") var svg: String?
    @Option(help: "Write one Chrome trace with a track per rank here (opens in Perfetto).") var merge: String?
    @Flag(help: "Print the summary as one JSON object (docs/formats.md).") var json = false

    struct RankTrace {
        var path = "", rank = 0, stage = 0, images = 0, steps = 0, microbatches = 0, stages = 1
        var ranks: Int?, runID: Int?, host: Int?, cores: Int?, threads: Int?, complete = true
        var events: [[String: Any]] = []
        var spans: [(name: String, category: String, start: Double, duration: Double)] = []
    }

    func load(_ path: String) throws -> RankTrace {
        guard FileManager.default.fileExists(atPath: path) else {
            throw DiTError("\(path): no such trace file (dit sample --trace PATH writes PATH.rankN.json per rank)")
        }
        guard let data = FileManager.default.contents(atPath: path),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let events = json["traceEvents"] as? [[String: Any]] else {
            throw DiTError("\(path): not a Chrome trace written by dit sample --trace")
        }
        var t = RankTrace(path: path, events: events)
        for e in events {
            let name = e["name"] as? String ?? ""
            if name == "dit_run", let args = e["args"] as? [String: Any] {
                // Numbers (metadata) beside words (the backend info).
                let a = args.compactMapValues { $0 as? Int }
                t.rank = a["rank"] ?? 0; t.stage = a["stage"] ?? 0; t.images = a["images"] ?? 0
                t.steps = a["steps"] ?? 0; t.microbatches = a["microbatches"] ?? 0; t.stages = a["stages"] ?? 1
                t.ranks = a["ranks"]; t.runID = a["run_id"]; t.host = a["host"]; t.cores = a["cores"]; t.threads = a["threads"]
                t.complete = a["complete"] != 0
            } else if e["ph"] as? String == "X" {
                t.spans.append((name, e["cat"] as? String ?? "", (e["ts"] as? Double ?? 0) / 1e6, (e["dur"] as? Double ?? 0) / 1e6))
            }
        }
        return t
    }

    /// The files must be one run's, every rank once.
    func checkOneRun(_ ranks: [RankTrace]) throws {
        let first = ranks[0]
        if let other = ranks.first(where: { $0.runID != first.runID }) {
            throw DiTError("\(other.path) and \(first.path) are traces of different runs; give the rank files of one run")
        }
        if let twice = Dictionary(grouping: ranks, by: \.rank).values.first(where: { $0.count > 1 }) {
            throw DiTError("rank \(twice[0].rank) is given twice (\(twice.map(\.path).joined(separator: ", "))); give each rank's file once")
        }
        if let n = first.ranks, ranks.count != n {
            let missing = Set(0..<n).subtracting(ranks.map(\.rank)).sorted()
            throw DiTError("the run had \(plural(n, "rank")) but \(plural(ranks.count, "trace file")) \(ranks.count == 1 ? "is" : "are") given; missing rank\(missing.count == 1 ? "" : "s") \(missing.map(String.init).joined(separator: ", ")) (PATH.rankN.json)")
        }
    }

    func run() throws {
        let ranks = try traces.map(load).sorted { $0.rank < $1.rank }
        guard let first = ranks.first, !ranks.allSatisfy({ $0.spans.isEmpty }) else { throw DiTError("no spans in the traces") }
        try checkOneRun(ranks)
        // The run spans from the first forward (stage 0's F0@0) to the last
        // compute or sampler span: waiting for slower ranks to start up is
        // not part of the schedule.
        let isWork: (String) -> Bool = { $0 == "compute" || $0 == "sampler" }
        let work = ranks.flatMap { $0.spans.filter { isWork($0.category) } }
        let start = work.map(\.start).min() ?? ranks.flatMap { $0.spans.map(\.start) }.min()!
        let end = work.map { $0.start + $0.duration }.max() ?? ranks.flatMap { $0.spans.map { $0.start + $0.duration } }.max()!
        let wall = end - start
        var rows: [[String: Any]] = []
        for r in ranks {
            let mine = r.spans.filter { isWork($0.category) }
            let firstWork = mine.map(\.start).min() ?? start, lastWork = mine.map { $0.start + $0.duration }.max() ?? end
            func clipped(_ cats: Set<String>, _ a: Double, _ b: Double) -> Double {
                r.spans.filter { cats.contains($0.category) }
                    .map { max(0, min($0.start + $0.duration, b) - max($0.start, a)) }.reduce(0, +)
            }
            let busy = mine.map(\.duration).reduce(0, +)
            let idle = max(0, wall - busy)
            let bubble = min(idle, max(0, firstWork - start) + max(0, end - lastWork))
            let wait = max(0, idle - bubble)
            rows.append(["rank": r.rank, "stage": r.stage, "busy": busy / wall, "bubble": bubble / wall, "wait": wait / wall,
                         "send_recv": clipped(["send", "receive"], start, end) / wall, "idle": idle / wall])
        }
        let predicted = Schedule.predictedBubble(stages: first.stages, microbatches: first.microbatches, steps: first.steps)
        let meanBubble = rows.map { $0["bubble"] as! Double }.reduce(0, +) / Double(rows.count)
        let meanWait = rows.map { $0["wait"] as! Double }.reduce(0, +) / Double(rows.count)
        let images = ranks.filter { $0.stage == 0 }.map(\.images).reduce(0, +)
        var notes: [String] = []
        if ranks.contains(where: { !$0.complete }) {
            notes.append("the run did not finish (interrupted, or still running): these traces stop at their last flush")
        }
        for (_, group) in Dictionary(grouping: ranks, by: { $0.host ?? 0 }) {
            guard let cores = group[0].cores else { continue }
            let threads = group.map { $0.threads ?? 1 }.reduce(0, +)
            if threads > cores {
                notes.append("\(plural(group.count, "rank")) × their BLAS threads = \(threads) threads share \(plural(cores, "core")) on one machine: ranks wait for cores, so busy times stretch and waits grow beyond the schedule's bubble")
            }
        }
        if json {
            let out: [String: Any] = ["wall_seconds": wall, "ranks": rows, "steps": first.steps, "microbatches": first.microbatches,
                                      "stages": first.stages, "mean_bubble": meanBubble, "mean_wait": meanWait,
                                      "predicted_bubble": predicted, "images": images, "images_per_second": Double(images) / wall,
                                      "notes": notes]
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(String(format: "wall %.3f s over %@; %@ × %@ × %@", wall, plural(ranks.count, "rank"), plural(first.steps, "step"),
                         plural(first.microbatches, "micro-batch", "micro-batches"), plural(first.stages, "stage")))
            print("rank stage   busy %   bubble %   wait %   send/recv %")
            for row in rows {
                print(String(format: "%4d %5d   %6.2f   %8.2f   %6.2f   %8.2f", row["rank"] as! Int, row["stage"] as! Int,
                             100 * (row["busy"] as! Double), 100 * (row["bubble"] as! Double), 100 * (row["wait"] as! Double),
                             100 * (row["send_recv"] as! Double)))
            }
            print(String(format: "mean bubble %.2f %% (predicted (S−1)/(T·M+S−1) = %.2f %%), mean wait %.2f %%",
                         100 * meanBubble, 100 * predicted, 100 * meanWait))
            if ranks.allSatisfy(\.complete) {
                print(String(format: "%@ in %.3f s: %.3f images/s", plural(images, "image"), wall, Double(images) / wall))
            }
            for n in notes { print("note: " + n) }
        }
        if let svg { try AtomicFile.write(Data(timeline(ranks, start: start, wall: wall).utf8), to: svg) }
        if let merge {
            // Every rank's events already carry pid = rank and a process_name: one track each.
            let events = ranks.flatMap(\.events)
            try AtomicFile.write(try JSONSerialization.data(withJSONObject: ["traceEvents": events]), to: merge)
        }
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
