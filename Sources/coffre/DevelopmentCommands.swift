import ArgumentParser
import CoffreCore
import Foundation

/// `coffre clock`: time travel on a server started with `--dev`.
struct ClockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clock", abstract: "Move the clock of a development server (coffre serve --dev), or of one vault.",
        subcommands: [Shift.self, Set.self, Reset.self, Show.self])

    struct Shift: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move the clock forward (or back, with negative numbers): expiry, rotation, renewal and purge follow.")
        @OptionGroup var data: DataOption
        @Option(help: "Days.") var days: Int64 = 0
        @Option(help: "Hours.") var hours: Int64 = 0
        @Option(help: "Minutes.") var minutes: Int64 = 0
        @Option(help: "Seconds.") var seconds: Int64 = 0
        @Option(help: "Only this vault (default: the whole server).") var vault: String?

        func run() async throws {
            struct Body: Encodable {
                var seconds: Int64
                var vault: String?
            }
            let total = days * 86_400 + hours * 3600 + minutes * 60 + seconds
            guard total != 0 else { throw ValidationError("Say how far: --days, --hours, --minutes or --seconds.") }
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "clock/shift", body: Body(seconds: total, vault: vault)))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set the clock to a time; it runs on from there.")
        @OptionGroup var data: DataOption
        @Argument(help: "ISO 8601 (2030-01-01T00:00:00Z or 2030-01-01) or seconds since 1970.") var time: String
        @Option(help: "Only this vault (default: the whole server).") var vault: String?

        func run() async throws {
            struct Body: Encodable {
                var time: String
                var vault: String?
            }
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.PUT, "clock", body: Body(time: time, vault: vault)))
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Back to real time (one vault's own shift, or every shift).")
        @OptionGroup var data: DataOption
        @Option(help: "Only this vault's own shift (default: every shift).") var vault: String?

        func run() async throws {
            let query = vault.map { "?vault=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)" } ?? ""
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "clock" + query))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show real time and the shifted clocks.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "clock")) }
    }
}

/// `coffre faults`: injected faults on a server started with `--dev`.
struct FaultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faults", abstract: "Make a development server (coffre serve --dev) throttle, fail or slow down requests.",
        subcommands: [Add.self, List.self, Remove.self, Clear.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Answer matching requests with an error (Key Vault's envelope) before they have any effect, or delay them.")
        @OptionGroup var data: DataOption
        @Option(help: "Only requests to this vault.") var vault: String?
        @Option(help: "Only this operation, as the audit log names it (SecretGet, KeySign, …).") var operation: String?
        @Option(help: "429 (Throttled), 500 (InternalServerError) or 503 (ServiceUnavailable).") var status: Int?
        @Option(help: "The Retry-After header, in seconds.") var retryAfter: Int?
        @Option(help: "The share of matching requests that get the fault (0.0-1.0).") var rate: Double?
        @Option(help: "Only the next N matching requests.") var count: Int?
        @Option(help: "Delay matching requests by this many milliseconds (alone: a slow but successful answer).") var latency: Int?

        func validate() throws {
            if rate != nil, count != nil { throw ValidationError("Give --rate or --count, not both.") }
            if status == nil, latency == nil { throw ValidationError("Give --status, --latency, or both.") }
        }

        func run() async throws {
            let body = FaultSpec(
                vault: vault, operation: operation, status: status, retryAfter: retryAfter, rate: rate, count: count, latencyMilliseconds: latency)
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "faults", body: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the faults in force, with their ids and hits.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "faults")) }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take one fault out of force.")
        @OptionGroup var data: DataOption
        @Option(help: "The fault's id (from faults add or faults list).") var id: String
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "faults/\(id)")) }
    }

    struct Clear: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Take every fault out of force.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.DELETE, "faults")) }
    }
}
