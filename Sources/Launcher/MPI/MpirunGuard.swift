import Foundation

/// Ends a stuck mpirun. When a host is stopped or cut off, the ranks abort
/// (their watchdogs fire), but mpirun then waits for that host's daemon to
/// confirm its ranks are gone, which with Open MPI's defaults takes ~8 min
/// (cut link) or forever (stopped host). The rank that mpirun itself
/// started spawns this guard: a shell in its own session that waits for the
/// rank to end; unless the rank said "ok" (a clean finish), it gives mpirun
/// 10 s to end, then kills it (SIGINT, mpirun's own way out, crashes it
/// while an abort is in progress). Its messages go to mpirun's stderr,
/// opened for appending (`>` would truncate a log file mpirun writes to).
enum MpirunGuard {
    static let script = """
        if [ -w "/proc/$1/fd/2" ]; then exec 2>>"/proc/$1/fd/2"; fi
        s=$(cat <&3); [ "$s" = ok ] && exit 0
        for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || exit 0; sleep 1; done
        echo "dit: mpirun is still waiting for a lost host 10 s after rank $2 ended; killing it" >&2
        kill -KILL "$1" 2>/dev/null
        """

    /// The write end of the pipe to the guard, or nil when mpirun is not our parent.
    static func start(rank: Int) -> Int32? {
        let parent = getppid()
        let comm = (try? String(contentsOfFile: "/proc/\(parent)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard ["mpirun", "mpiexec", "orterun", "prterun"].contains(comm) else { return nil }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[0], 3)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        // Not the rank's stdout/stderr: mpirun waits for those to close.
        for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        posix_spawnattr_setflags(&attr, 0x80)   // POSIX_SPAWN_SETSID: glibc hides it from Swift (_GNU_SOURCE)
        let args = ["/bin/sh", "-c", script, "dit-mpirun-guard", String(parent), String(rank)]
        var argv = args.map { strdup($0) } + [nil]
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, &argv, environ)
        for p in argv { free(p) }
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attr)
        close(fds[0])
        guard rc == 0 else { close(fds[1]); return nil }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        return fds[1]
    }

    /// Tells the guard the rank finished cleanly.
    static func release(_ fd: Int32) {
        _ = "ok".withCString { write(fd, $0, 2) }
        close(fd)
    }
}
