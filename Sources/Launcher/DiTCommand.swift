import ArgumentParser

@main
struct DiTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dit",
        abstract: "DiT inference: exact, single-process or pipeline-parallel over MPI.",
        version: "0.1.0",
        subcommands: [SampleCommand.self, ForwardCommand.self, PlanCommand.self, InspectCommand.self, BenchCommand.self,
                      ProfileCommand.self, ReportCommand.self, VAEDecodeCommand.self, DumpCommand.self])
}
