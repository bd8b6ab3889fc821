package io.kvmclock.peer.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.files.AtomicFiles;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One qemu-system-x86_64 running the clock firmware ({@link Firmware}) under KVM, owned by this JVM: its
 * process, its QMP socket and every file it uses live in one private temp directory, and {@link #close()}
 * quits it (QMP {@code quit}, then SIGKILL), waits for it and deletes the directory. A shutdown hook does the
 * same for every process still open when the JVM ends by Ctrl-C or SIGTERM. Machine: {@code pc}, one vCPU,
 * {@code -nodefaults}, no display; docs/qemu-peer.md lists the command line.
 */
public final class QemuProcess implements AutoCloseable {
    public static final String BINARY = "qemu-system-x86_64";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private static final Duration QUIT_TIMEOUT = Duration.ofSeconds(3);
    private static final Set<QemuProcess> OPEN = ConcurrentHashMap.newKeySet();
    private static final Set<Path> SCRATCH = ConcurrentHashMap.newKeySet();

    /** Guards {@link #shuttingDown} and makes spawning a QEMU and registering it one step (see the hook). */
    private static final Object LIFECYCLE = new Object();
    private static boolean shuttingDown;

    static {
        // Other threads keep running while shutdown hooks do: a trial may be starting the next QEMU just
        // then. Spawning happens under LIFECYCLE and is refused once the hook has set shuttingDown, so every
        // QEMU that exists is in OPEN when the hook walks it.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (LIFECYCLE) {
                shuttingDown = true;
            }
            OPEN.forEach(QemuProcess::kill);
            SCRATCH.forEach(QemuProcess::deleteTree);
        }, "qemu-cleanup"));
    }

    /** The directories this JVM still owns (its open QEMUs' and scratch ones): empty once everything is cleaned up. */
    public static Set<Path> ownedDirectories() {
        return Set.copyOf(SCRATCH);
    }

    private static void refuseWhileShuttingDown() {
        if (shuttingDown) {
            throw QemuException.failure("the JVM is shutting down: no new QEMU");
        }
    }

    /**
     * A private temp directory for files that outlive one QEMU (a snapshot between its writer and its
     * reader), deleted by {@link #close()} or, on Ctrl-C/SIGTERM, by the same shutdown hook.
     */
    public static final class Scratch implements AutoCloseable {
        private final Path dir;

        public Scratch() {
            synchronized (LIFECYCLE) {
                refuseWhileShuttingDown();
                try {
                    dir = Files.createTempDirectory("kvmclock-qemu-");
                } catch (IOException e) {
                    throw QemuException.environment("cannot create a temp directory: " + e.getMessage());
                }
                SCRATCH.add(dir);
            }
        }

        public Path file(String name) {
            return dir.resolve(name);
        }

        public Path directory() {
            return dir;
        }

        @Override
        public void close() {
            deleteTree(dir);
            SCRATCH.remove(dir);
        }
    }

    /** Where a QEMU takes its guest from at start: nowhere (it boots the firmware), a migration socket, or a file. */
    public sealed interface Incoming {
        record None() implements Incoming {}

        /** {@code -incoming unix:} on a socket in the process's own directory ({@link #incomingUri()}). */
        record UnixSocket() implements Incoming {}

        /** {@code -incoming exec:cat FILE}: load a migration stream saved with {@code exec:cat > FILE}. */
        record FromFile(Path file) implements Incoming {}
    }

    /** What to start: the QEMU binary, guest RAM, firmware image, and where the guest comes from. */
    public record Options(Path qemu, long ramBytes, byte[] firmware, Incoming incoming) {
        public Options {
            if (ramBytes < 1 << 20 || ramBytes % (1 << 20) != 0) {
                throw new IllegalArgumentException("guest RAM must be a whole number of MiB, at least 1: " + ramBytes);
            }
            if (firmware.length != Firmware.IMAGE_SIZE) {
                throw new IllegalArgumentException("the firmware image must be " + Firmware.IMAGE_SIZE + " bytes");
            }
            firmware = firmware.clone();
        }

        /** The QEMU found on PATH, 16 MiB of RAM, the default firmware, booting it. */
        public static Options defaults() {
            return new Options(findOnPath().orElse(Path.of(BINARY)), 16L << 20, Firmware.image(), new Incoming.None());
        }

        public Options withQemu(Path qemu) {
            return new Options(qemu, ramBytes, firmware, incoming);
        }

        public Options withRamMiB(long mib) {
            return new Options(qemu, mib << 20, firmware, incoming);
        }

        public Options withIncoming(Incoming in) {
            return new Options(qemu, ramBytes, firmware, in);
        }

        @Override
        public byte[] firmware() {
            return firmware.clone();
        }
    }

    private final Options options;
    private final Path dir;
    private final Process process;
    private Qmp qmp;
    private volatile boolean closed;

    private QemuProcess(Options options, Path dir, Process process) {
        this.options = options;
        this.dir = dir;
        this.process = process;
    }

    /** {@code qemu-system-x86_64} on PATH, if any. */
    public static Optional<Path> findOnPath() {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(File.pathSeparator)) {
            if (!d.isEmpty()) {
                Path p = Path.of(d, BINARY);
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    private static final Map<Path, String> VERSIONS = new ConcurrentHashMap<>();

    /**
     * The version {@code qemu --version} prints (e.g. 7.2.22), or an environment error when it cannot run.
     * Asked once per binary: a snapshot restore's pause includes starting QEMU, and must not include this too.
     */
    public static String version(Path qemu) {
        return VERSIONS.computeIfAbsent(qemu, QemuProcess::askVersion);
    }

    private static String askVersion(Path qemu) {
        if (!Files.isExecutable(qemu)) {
            throw QemuException.environment(qemu + " is not an executable QEMU: install qemu-system-x86 "
                    + "(apt-get install --no-install-recommends qemu-system-x86) or pass --qemu PATH");
        }
        try {
            Process p = new ProcessBuilder(qemu.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            Matcher m = Pattern.compile("version (\\d+\\.\\d+\\.\\d+)").matcher(out);
            if (!m.find()) {
                throw QemuException.environment(qemu + " --version did not print a QEMU version: " + out.strip());
            }
            return m.group(1);
        } catch (IOException e) {
            throw QemuException.environment("cannot run " + qemu + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw QemuException.failure("interrupted asking " + qemu + " for its version");
        }
    }

    /** Starts QEMU and connects to its QMP socket; on any failure nothing is left running or on disk. */
    public static QemuProcess start(Options o) {
        version(o.qemu());
        // The directory is registered as scratch until the process owns it, so the hook removes it either way.
        Path dir = new Scratch().directory();
        QemuProcess q = null;
        try {
            List<String> cmd = commandLine(o, dir);
            synchronized (LIFECYCLE) {
                refuseWhileShuttingDown();
                // written under the lock: a file made while the hook deletes the directory would keep it
                Files.write(dir.resolve("firmware.bin"), o.firmware);
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile())
                        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
                q = new QemuProcess(o, dir, p);
                OPEN.add(q);
            }
            q.connect();
            q.checkKvm();
            Optional<String> uri = q.incomingUriFor(o.incoming());
            if (uri.isPresent()) {
                q.qmp.execute("migrate-incoming", Qmp.args().put("uri", uri.get()));
            }
            return q;
        } catch (QemuException e) {
            discard(q, dir);
            throw e;
        } catch (IOException | RuntimeException e) {
            discard(q, dir);
            throw new QemuException(QemuException.Kind.ENVIRONMENT, "cannot start QEMU: " + e.getMessage(), e);
        }
    }

    private static void discard(QemuProcess q, Path dir) {
        if (q != null) {
            q.close();
        } else {
            deleteTree(dir);
            SCRATCH.remove(dir);
        }
    }

    static List<String> commandLine(Options o, Path dir) {
        List<String> cmd = new ArrayList<>(List.of(o.qemu().toString(),
                "-machine", "pc,accel=kvm", "-smp", "1", "-m", (o.ramBytes() >> 20) + "M",
                "-bios", dir.resolve("firmware.bin").toString(),
                "-nodefaults", "-no-user-config", "-display", "none", "-serial", "none", "-parallel", "none",
                "-qmp", "unix:" + dir.resolve("qmp.sock") + ",server=on,wait=off"));
        if (!(o.incoming() instanceof Incoming.None)) {
            // deferred: QMP is connected before the stream starts, so no event of the load is missed
            cmd.addAll(List.of("-incoming", "defer"));
        }
        return cmd;
    }

    private void connect() throws IOException {
        Path sock = dir.resolve("qmp.sock");
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw QemuException.environment(startFailure(null));
            }
            if (Files.exists(sock)) {
                try {
                    qmp = Qmp.connect(sock);
                    return;
                } catch (IOException e) {
                    // QEMU created the socket but is not listening yet
                }
            }
            sleep(Duration.ofMillis(20));
        }
        throw QemuException.failure("QEMU did not open its QMP socket within " + START_TIMEOUT.toSeconds() + " s");
    }

    private void checkKvm() {
        JsonNode kvm = qmp.execute("query-kvm");
        if (!kvm.path("enabled").asBoolean()) {
            throw QemuException.environment("QEMU runs without KVM (query-kvm: " + kvm + "): check /dev/kvm");
        }
    }

    /** One line on why QEMU did not start: the last line it printed that is not a warning. */
    private String startFailure(Throwable e) {
        String said = "";
        try {
            List<String> lines = Files.readAllLines(dir.resolve("qemu.log"));
            for (String l : lines) {
                if (!l.isBlank() && !l.contains("warning:")) {
                    said = l.strip();
                }
            }
        } catch (IOException ignored) {
            // no log: say what we know
        }
        if (!process.isAlive() && !said.isEmpty()) {
            return BINARY + " exited at start: " + said;
        }
        if (!process.isAlive()) {
            return BINARY + " exited at start with status " + process.exitValue();
        }
        return e == null ? "QEMU failed to start" : e.getMessage();
    }

    public long pid() {
        return process.pid();
    }

    public Qmp qmp() {
        return qmp;
    }

    public Options options() {
        return options;
    }

    /** This process's private directory (deleted by {@link #close()}). */
    public Path directory() {
        return dir;
    }

    /** A file name inside {@link #directory()}, e.g. for a snapshot, deleted with it. */
    public Path file(String name) {
        return dir.resolve(name);
    }

    /** The migration URI of a process started with {@link Incoming.UnixSocket}. */
    public String incomingUri() {
        if (!(options.incoming() instanceof Incoming.UnixSocket)) {
            throw new IllegalStateException("this QEMU was not started with -incoming unix:");
        }
        return incomingUriFor(options.incoming()).orElseThrow();
    }

    private Optional<String> incomingUriFor(Incoming in) {
        return switch (in) {
            case Incoming.None n -> Optional.empty();
            case Incoming.UnixSocket u -> Optional.of("unix:" + dir.resolve("incoming.sock"));
            case Incoming.FromFile f -> Optional.of("exec:cat " + shellQuoted(f.file()));
        };
    }

    /** {@code 'path'} for QEMU's exec: migration (run by /bin/sh); a path with a quote is refused. */
    static String shellQuoted(Path file) {
        String s = file.toAbsolutePath().toString();
        if (s.contains("'")) {
            throw new IllegalArgumentException("a snapshot file name must not contain a quote: " + s);
        }
        return "'" + s + "'";
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** The guest's RAM once the firmware has booted (or a migration has brought it), waiting up to {@code timeout}. */
    public GuestRam guestRam(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            do {
                Optional<GuestRam> r = GuestRam.find(pid(), options.ramBytes());
                if (r.isPresent()) {
                    return r.get();
                }
                if (!alive()) {
                    throw QemuException.failure("QEMU exited before its guest came up");
                }
                sleep(Duration.ofMillis(10));
            } while (System.nanoTime() < deadline);
        } catch (IOException e) {
            throw QemuException.environment("cannot read QEMU's memory (/proc/" + pid() + "/mem): " + e.getMessage()
                    + ": run as root or as QEMU's user with ptrace allowed");
        }
        throw QemuException.failure("the clock firmware did not come up in QEMU within " + timeout.toMillis()
                + " ms (no magic at guest address 0x" + Integer.toHexString(Firmware.HEADER_GPA) + ")");
    }

    /** Quits QEMU (gracefully over QMP, then SIGKILL), waits for it, deletes its directory. Idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // what QEMU spawned (the shell and cat of an exec: migration) outlives it, reparented, and may still be
        // writing into dir: taken now, while they are QEMU's descendants, and waited for before dir goes
        List<ProcessHandle> spawned = process.descendants().toList();
        try {
            if (qmp != null && process.isAlive()) {
                try {
                    qmp.execute("quit");
                } catch (QemuException e) {
                    // it may already be going away; SIGKILL below
                }
            }
            if (!waitFor(QUIT_TIMEOUT)) {
                process.destroyForcibly();
                waitFor(QUIT_TIMEOUT);
            }
            // a snapshot's cat finishes writing the file on its own once QEMU closed the pipe; only a stuck one is killed
            spawned.forEach(h -> endWithin(h, QUIT_TIMEOUT));
        } finally {
            if (qmp != null) {
                try {
                    qmp.close();
                } catch (IOException ignored) {
                    // closing a socket to a dead process
                }
            }
            deleteTree(dir);
            OPEN.remove(this);
            SCRATCH.remove(dir);
        }
    }

    /** The shutdown hook's path: no QMP, just SIGKILL (QEMU and what it spawned) and delete. */
    private void kill() {
        List<ProcessHandle> spawned = process.descendants().toList();
        process.destroyForcibly();
        spawned.forEach(ProcessHandle::destroyForcibly);
        waitFor(QUIT_TIMEOUT);
        spawned.forEach(h -> endWithin(h, QUIT_TIMEOUT));
        deleteTree(dir);
    }

    /** Waits up to {@code d} for {@code h} to end, then SIGKILLs it and waits as long again. */
    private static void endWithin(ProcessHandle h, Duration d) {
        try {
            try {
                h.onExit().get(d.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                h.destroyForcibly();
                h.onExit().get(d.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // it would not die in time: the directory is removed anyway, as before
        }
    }

    private boolean waitFor(Duration d) {
        try {
            return process.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    static void deleteTree(Path dir) {
        try {
            AtomicFiles.deleteTree(dir);
        } catch (IOException ignored) {
            // best effort on the way out; the directory is private to this process
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw QemuException.failure("interrupted");
        }
    }
}
