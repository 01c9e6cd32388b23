import Foundation
import Glibc
import Testing
@testable import tproxy_dns

@Suite("serve --control directory")
struct ControlDirectoryTests {
    private let directory = ControlDirectory(socketPath: "/srv/shared/control.sock")

    private func status(owner: uid_t, mode: mode_t, isDirectory: Bool = true) -> ControlDirectory.Status {
        .init(isDirectory: isDirectory, owner: owner, mode: mode)
    }

    @Test func theDaemonsOwnOrRootsDirectoryWillDo() {
        #expect(directory.problem(with: status(owner: 0, mode: 0o755), user: 0) == nil)
        #expect(directory.problem(with: status(owner: 1000, mode: 0o700), user: 1000) == nil)
        #expect(directory.problem(with: status(owner: 0, mode: 0o1777), user: 0) == nil, "sticky, like /tmp")
    }

    @Test func aWorldWritableDirectoryOfAnotherUserIsRefusedNamingControl() throws {
        let problem = try #require(directory.problem(with: status(owner: 1000, mode: 0o777), user: 0))
        #expect(problem == .ownedByAnotherUser(socket: "/srv/shared/control.sock", directory: "/srv/shared", owner: 1000))
        let message = problem.description
        #expect(message.hasPrefix("--control /srv/shared/control.sock: directory /srv/shared is owned by uid 1000"))
        #expect(message.contains("could replace the socket"))
        #expect(!message.contains("--port"))
    }

    @Test func writableByOthersWithoutStickyIsRefused() {
        let problem = directory.problem(with: status(owner: 0, mode: 0o777), user: 0)
        #expect(problem == .writableByOthers(socket: "/srv/shared/control.sock", directory: "/srv/shared", mode: 0o777))
        #expect(problem?.description.contains("(mode 777) without the sticky bit") == true)
    }

    @Test func aFileWhereTheDirectoryShouldBeIsNamedAsSuch() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("control-dir-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try Data("x".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let socket = file.path + "/control.sock"
        #expect(throws: ControlDirectory.Problem.notADirectory(socket: socket, directory: file.path)) {
            try ControlDirectory(socketPath: socket).prepare()
        }
        #expect(ControlDirectory.Problem.notADirectory(socket: socket, directory: file.path).description
            == "--control \(socket): \(file.path) is not a directory")
    }
}
