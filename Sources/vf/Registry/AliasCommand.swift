import ArgumentParser
import FleetProtos
import Foundation
import ServiceRuntime

extension RegistryCommand {
    struct AliasCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "alias", abstract: "Move, delete and list aliases.", subcommands: [Set.self, History.self, Remove.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Point NAME@ALIAS at VERSION (rolling back is setting an earlier one).")
            @OptionGroup var connection: RegistryConnection
            @Argument var name: String
            @Argument var alias: String
            @Argument var version: Int32
            @Option(help: "Why (kept in the history).") var reason: String = ""
            @Option(help: "Compare-and-set: the version the alias must point at now (-1: must not exist).") var expected: Int32 = 0

            func run() async throws {
                let c = try await connection.client().setAlias(name, alias, version: version, expected: expected, reason: reason)
                if connection.json { return try RegistryCommand.printJSON([c], single: true) }
                print("\(c.model)@\(c.alias): \(c.fromVersion == 0 ? "-" : "\(c.fromVersion)") → \(c.toVersion)")
            }
        }

        struct History: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Every move of a model's aliases, oldest first.")
            @OptionGroup var connection: RegistryConnection
            @Argument var name: String
            @Option(help: "Only this alias.") var alias: String = ""

            func run() async throws {
                let changes = try await connection.client().aliasHistory(name, alias: alias)
                if connection.json { return try RegistryCommand.printJSON(changes) }
                TextTable.print(["TIME", "ALIAS", "FROM", "TO", "BY", "REASON"], changes.map { c in
                    [RegistryCommand.date(c.changedAt), c.alias, c.fromVersion == 0 ? "-" : "\(c.fromVersion)",
                     c.toVersion == 0 ? "deleted" : "\(c.toVersion)", c.changedBy, c.reason]
                })
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "delete", abstract: "Delete NAME@ALIAS.")
            @OptionGroup var connection: RegistryConnection
            @Argument var name: String
            @Argument var alias: String

            func run() async throws {
                let c = try await connection.client().deleteAlias(name, alias)
                if connection.json { return try RegistryCommand.printJSON([c], single: true) }
                print("\(c.model)@\(c.alias) deleted (was \(c.fromVersion))")
            }
        }
    }
}
