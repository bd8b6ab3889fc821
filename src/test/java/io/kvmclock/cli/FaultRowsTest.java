package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.HostInfo;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.SampleState;
import io.kvmclock.state.StateFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's table, one test per row run in-process (rows that need a mount namespace or real KVM are in
 * FaultEnvironmentTest): each is one line naming what is wrong and what to do, the right exit code, and
 * nothing left behind.
 */
class FaultRowsTest {

    @TempDir
    Path dir;

    /** Exit code, a single line of error output that mentions every word, nothing on stdout. */
    private static CliRun refused(int code, List<String> words, String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(code, r.exitCode(), r.out() + r.err());
        // a parse error adds picocli's standard "Try 'kvmclock ... --help'." line; nothing else
        assertEquals(1, r.err().strip().lines().filter(l -> !l.startsWith("Try '")).count(), "one line, no trace: " + r.err());
        for (String w : words) {
            assertTrue(r.errLine().contains(w), "'" + w + "' in: " + r.err());
        }
        return r;
    }

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.contains(".kvmclock-")).toList();
        }
    }

    @Test
    void aDeviceReadAsAStateFileIsRefusedAtOnce() {
        refused(ExitCode.BAD_INPUT, List.of("/dev/zero", "not a regular file"), "state", "show", "/dev/zero");
        refused(ExitCode.BAD_INPUT, List.of("is a directory"), "state", "show", dir.toString());
        // a FIFO with no writer would block a plain open: refused before it is opened
        Path fifo = dir.resolve("fifo");
        try {
            assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        } catch (IOException | InterruptedException e) {
            throw new AssertionError("mkfifo (coreutils)", e);
        }
        refused(ExitCode.BAD_INPUT, List.of("not a regular file"), "state", "show", fifo.toString());
    }

    @Test
    void terminalEscapesFromAFileAreShownEscaped() throws IOException {
        ClockState base = SampleState.create(1, 2_596_138, 2_596_138);
        String evil = "6.18\u001b[31mRED\u001b]0;owned\u0007\nvcpu  fake line";
        ClockState s = ClockState.of(base.capture(), new HostInfo(evil, 12, 2_596_138, "tsc\u009b2J", "boot\r"),
                base.capabilities(), base.clock(), base.vcpus());
        Path f = dir.resolve("evil.kvmclk");
        StateFile.write(f, s);
        CliRun r = CliRun.of("state", "show", f.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        for (char c : new char[] {'\u001b', '\u0007', '\u009b', '\r'}) {
            assertEquals(-1, r.out().indexOf(c), "no raw control character " + (int) c);
        }
        assertTrue(r.out().contains("6.18\\x1b[31mRED\\x1b]0;owned\\x07\\nvcpu  fake line"), r.out());
        Path plainFile = dir.resolve("plain.kvmclk");
        StateFile.write(plainFile, base);
        CliRun plain = CliRun.of("state", "show", plainFile.toString());
        assertEquals(plain.out().lines().count(), r.out().lines().count(), "no extra line faked");
        // JSON keeps the exact string, escaped by the JSON writer
        assertEquals(evil, CliRun.of("state", "show", f.toString(), "--json").json().path("host").path("kernel").asText());
    }

    private static Path sample(Path f) {
        assertEquals(ExitCode.OK, CliRun.of("state", "sample", f.toString()).exitCode());
        return f;
    }

    @Test
    void anUnwritableReportIsRefusedBeforeTheRun() {
        CliRun r = refused(ExitCode.BAD_INPUT, List.of("--report", "/proc/x", "cannot write", "choose a writable folder"),
                "demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "200", "--report", "/proc/x");
        assertEquals("", r.out(), "no trial ran");
    }

    @Test
    void aReportFolderWithOtherFilesIsNeverReplaced() throws IOException {
        Files.writeString(dir.resolve("thesis.tex"), "mine");
        refused(ExitCode.BAD_INPUT, List.of("did not write", "new or empty folder"),
                "demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "1", "--report", dir.toString());
        assertEquals("mine", Files.readString(dir.resolve("thesis.tex")));
    }

    @Test
    void aReportIsReplacedWhole() throws IOException {
        Path report = dir.resolve("r");
        CliRun a = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "2", "--methods", "precise", "--report", report.toString());
        assertEquals(ExitCode.OK, a.exitCode(), a.err());
        String first = Files.readString(report.resolve("index.html"));
        CliRun b = CliRun.of("demo", "--backend", "sim", "--sim-host", "kvm-intel", "--trials", "3", "--methods", "precise,qemu", "--report", report.toString());
        assertEquals(ExitCode.OK, b.exitCode(), b.err());
        assertFalse(first.equals(Files.readString(report.resolve("index.html"))));
        try (Stream<Path> s = Files.list(report)) {
            assertEquals(3, s.count());
        }
        assertEquals(List.of(), leftovers());
    }

    @Test
    void deepOrHugeJsonIsOneLine() throws IOException {
        Path deep = dir.resolve("deep.json");
        Files.writeString(deep, "[".repeat(1001));
        refused(ExitCode.BAD_INPUT, List.of("deep.json", "nesting depth"), "simulate", deep.toString());
        Path shallow = dir.resolve("shallow.json");
        Files.writeString(shallow, "[".repeat(999));
        refused(ExitCode.BAD_INPUT, List.of("shallow.json"), "simulate", shallow.toString());
        Path huge = dir.resolve("huge.json");
        Files.writeString(huge, "{\"name\": \"" + "x".repeat(50 << 20) + "\"}");
        refused(ExitCode.BAD_INPUT, List.of("huge.json", "larger than any scenario"), "simulate", huge.toString());
        refused(ExitCode.BAD_INPUT, List.of("is a folder", "scenario file"), "simulate", dir.toString());
    }

    @Test
    void theRootFolderIsNoFileName() {
        refused(ExitCode.BAD_INPUT, List.of("/", "is a folder", "file name"), "state", "sample", "/", "--force");
    }

    @Test
    void hugeSpansAreRefusedAtTheOption() {
        refused(ExitCode.BAD_INPUT, List.of("--chart-span", "out of range", "at most"), "drift", "policy", "--max-jump",
                "1000", "--tsc-khz", "2596138", "--chart", dir.resolve("c.svg").toString(), "--chart-span", "106751d");
        refused(ExitCode.BAD_INPUT, List.of("--around", "out of range"), "drift", "seed004", "--around", "106751d");
        refused(ExitCode.BAD_INPUT, List.of("--around plus --tolerance"), "drift", "seed004", "--around", "3650d",
                "--tolerance", "1d");
    }

    @Test
    void everyUnwritablePathSaysWhy() throws IOException {
        Path scenario = Path.of("scenarios/kexec-live-update.json");
        for (List<String> args : List.of(
                List.of("simulate", scenario.toString(), "--report", "/proc/x"),
                List.of("drift", "policy", "--max-jump", "1000", "--tsc-khz", "2596138", "--chart", "/proc/x.svg"),
                List.of("live-update", "--keep", "/proc/x"))) {
            CliRun r = refused(ExitCode.BAD_INPUT, List.of("/proc/x", "cannot write", "choose a writable folder"),
                    args.toArray(String[]::new));
            assertFalse(r.errLine().contains(".tmp"), "no temp file name: " + r.err());
        }
        refused(ExitCode.BAD_INPUT, List.of("--device", "is a folder", "/dev/kvm"), "probe", "--device", dir.toString());
    }

    @Test
    void emptyPathsAreRefused() {
        refused(ExitCode.BAD_INPUT, List.of("--report", "empty path"), "demo", "--backend", "sim", "--sim-host", "kvm-intel", "--report", "");
        refused(ExitCode.BAD_INPUT, List.of("--report", "empty path"), "simulate", "scenarios/kexec-live-update.json",
                "--report", "");
        refused(ExitCode.BAD_INPUT, List.of("--keep", "empty path"), "live-update", "--keep", "");
    }

    @Test
    void rangesAreCheckedAtTheOption() {
        refused(ExitCode.BAD_INPUT, List.of("--sim-peer-khz", "9 GHz"), "demo", "--backend", "sim", "--sim-host", "kvm-intel", "--sim-peer-khz", "10GHz");
        refused(ExitCode.BAD_INPUT, List.of("--downtime", "out of range"), "demo", "--backend", "sim", "--sim-host", "kvm-intel", "--downtime",
                "1000000000s");
        refused(ExitCode.BAD_INPUT, List.of("--measure", "out of range"), "drift", "--measure", "106751d");
        refused(ExitCode.BAD_INPUT, List.of("--run", "out of range"), "live-update", "--run", "2h");
    }

    @Test
    void quietMistakesAreRefused() {
        refused(ExitCode.BAD_INPUT, List.of("--trigger", "--measure"), "drift", "--tsc-khz", "2596138", "--since", "40h",
                "--trigger", "bogus");
        refused(ExitCode.BAD_INPUT, List.of("ASCII digits"), "timescale", "--tsc-khz", "\uff12\uff15\uff19\uff16\uff11\uff13\uff18");
        refused(ExitCode.BAD_INPUT, List.of("ASCII digits"), "drift", "--tsc-khz", "\u0662596138", "--since", "40h");
    }

    @Test
    void oneDurationRuleForEveryOption() {
        // the budget takes the project's duration syntax (or bare ns); a fraction is refused as everywhere else
        assertEquals(ExitCode.OK, CliRun.of("drift", "policy", "--max-jump", "1ms500us", "--tsc-khz", "2596138").exitCode());
        refused(ExitCode.BAD_INPUT, List.of("--max-jump", "'1.5ms'"), "drift", "policy", "--max-jump", "1.5ms", "--tsc-khz", "2596138");
        refused(ExitCode.BAD_INPUT, List.of("--downtime", "'1.5ms'"), "demo", "--backend", "sim", "--sim-host", "kvm-intel", "--downtime", "1.5ms");
    }

    @Test
    void anOverwrittenFileKeepsItsPermissionsAndALinkStaysALink() throws IOException {
        Path target = dir.resolve("real.kvmclk");
        sample(target);
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-------"));
        Path link = Files.createSymbolicLink(dir.resolve("link.kvmclk"), target.getFileName());
        assertEquals(ExitCode.OK, CliRun.of("state", "sample", link.toString(), "--force", "--vcpus", "3").exitCode());
        assertTrue(Files.isSymbolicLink(link), "the link is still a link");
        assertEquals(3, StateFile.read(target).vcpus().size(), "written through the link");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(target)));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void whatAKillAtTheRenameLeftIsSweptByTheNextWrite() throws Exception {
        long dead = deadPid();
        Path f = dir.resolve("g.kvmclk");
        Path tmp = Files.write(dir.resolve(".g.kvmclk.kvmclock-" + dead + "-12345.tmp"), new byte[4096]);
        Path stage = Files.createDirectories(dir.resolve(".r.kvmclock-" + dead + "-7.stage"));
        Files.writeString(stage.resolve("index.html"), "half");
        long self = ProcessHandle.current().pid();
        Path mine = Files.write(dir.resolve(".g.kvmclock-" + self + "-1.tmp"), new byte[1]);
        sample(f);
        assertFalse(Files.exists(tmp), "a dead writer's temp file is swept");
        assertFalse(Files.exists(stage), "a dead writer's staged folder is swept");
        assertTrue(Files.exists(mine), "a live writer's temp file is left alone");
        Files.delete(mine);
    }

    @Test
    void aFolderRenamedAsideByAKilledWriterIsPutBack() throws Exception {
        long dead = deadPid();
        Path aside = Files.createDirectories(dir.resolve(".r.kvmclock-" + dead + "-9.old"));
        Files.writeString(aside.resolve("index.html"), "the old report");
        sample(dir.resolve("other.kvmclk")); // any write into the folder sweeps it
        assertEquals("the old report", Files.readString(dir.resolve("r").resolve("index.html")));
    }

    /** The pid of a process that has exited. */
    static long deadPid() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        return p.pid();
    }
}
