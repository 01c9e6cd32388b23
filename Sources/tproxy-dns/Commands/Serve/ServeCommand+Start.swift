import ArgumentParser
import DNSForward
import DNSServer
import GatewaySetup
import Logging
import RawUDP

#if canImport(Glibc)
import Glibc
#endif

extension ServeCommand {
    /// Starts the daemon with these (merged) settings; `configPath` is re-read on SIGHUP.
    func start(reloadingFrom configPath: String?) throws {
        let level = try ServeOptionParsing.logLevel(logLevel)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tproxy-dns")
        let localZones = try loadZones()
        let account = try lookUpAccount()
        try prepareControlDirectory()
        let daemon = try openDaemon(localZones: localZones, account: account, logger: logger, reloadingFrom: configPath)
        let installed = try installRulesIfAsked(logger: logger)
        defer { if let installed { removeRules(installed, logger: logger) } }
        if let account {
            do {
                try ProcessIdentity.become(account)
                logger.info("dropped privileges", metadata: ["user": "\(account.name)", "uid": "\(account.userID)"])
            } catch {
                printError("tproxy-dns: dropping privileges to \(account.name) failed: \(error)")
                throw ExitCode(1)
            }
        }
        try daemon.run()
    }

    private func loadZones() throws -> LocalZones {
        guard let zones else { return .empty }
        do {
            return try LocalZones.load(directory: zones)
        } catch {
            printError("tproxy-dns: zone error: \(error)")
            throw ExitCode(1)
        }
    }

    private func lookUpAccount() throws -> ProcessIdentity.Account? {
        guard let user else { return nil }
        do {
            return try ProcessIdentity.lookup(user: user)
        } catch {
            printError("tproxy-dns: --user \(user): \(error)")
            throw ExitCode(1)
        }
    }

    private func prepareControlDirectory() throws {
        guard !noControl else { return }
        do {
            try ControlDirectory(socketPath: control).prepare()
        } catch let problem where problem.isUnusable && ProcessIdentity.effectiveUserID != 0 {
            // Without root, creating /run/tproxy-dns is usually what fails first; say what matters.
            printError("tproxy-dns: needs CAP_NET_ADMIN and CAP_NET_RAW: run as root (\(problem))")
            throw ExitCode(77)
        } catch {
            printError("tproxy-dns: \(error)")
            throw ExitCode(1)
        }
    }

    /// Every socket of every loop, opened while still root.
    private func openDaemon(localZones: LocalZones, account: ProcessIdentity.Account?, logger: Logger,
                            reloadingFrom configPath: String?) throws -> Daemon {
        var configuration = try daemonConfiguration()
        // Opened as root, written as --user: the log must be that account's.
        configuration.queryLogOwner = account?.userID
        do {
            let daemon = try Daemon(configuration: configuration, localZones: localZones, logger: logger,
                                    reload: configPath.map { path in
                                        { try ServeConfiguration.merge(file: path, commandLine: ServeConfiguration.commandLineArguments())
                                            .daemonConfiguration() }
                                    })
            try daemon.addWorkers(configuration.workers - 1, localZones: localZones)
            return daemon
        } catch let error as SystemCallError where error.isPermissionDenied {
            printError("tproxy-dns: needs CAP_NET_ADMIN and CAP_NET_RAW: run as root (\(error))")
            throw ExitCode(77)
        } catch let error as ListenerOpenError {
            printError("tproxy-dns: \(error)")
            throw ExitCode(1)
        } catch let error as SystemCallError where error.errno == EADDRINUSE {
            printError("tproxy-dns: address in use (\(error)); pick another --port, or stop the daemon already running")
            throw ExitCode(1)
        } catch {
            printError("tproxy-dns: cannot start: \(error)")
            throw ExitCode(1)
        }
    }

    private func installRulesIfAsked(logger: Logger) throws -> TPROXYRuleSettings? {
        guard installRules else { return nil }
        do {
            let settings = try rules.settings(port: port)
            let report = try TPROXYRuleInstaller.apply(settings)
            for line in report.actions { logger.info("\(line)") }
            return settings
        } catch {
            printError("tproxy-dns: --install-rules: \(error)")
            throw ExitCode(1)
        }
    }

    private func removeRules(_ installed: TPROXYRuleSettings, logger: Logger) {
        do {
            try TPROXYRuleInstaller.remove(installed)
            logger.info("TPROXY rules removed")
        } catch {
            logger.error("removing the TPROXY rules failed", metadata: ["error": "\(error)"])
        }
    }
}
