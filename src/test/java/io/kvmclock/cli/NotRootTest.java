package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.inspect.ChildGuest;
import io.kvmclock.kvm.RealKvm;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * inspect and vms run as an unprivileged user (nobody, through setpriv) against a VMM owned by root: the
 * kernel refuses /proc/PID/fd and the memory, and the user gets one line and exit 3. Needs root to drop to
 * nobody; the classpath is copied where nobody can read it.
 */
class NotRootTest {

    private record Run(int exit, String out, String err) {}

    @Test
    void anUnprivilegedUserIsToldToRunAsRoot() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "skipped, needs root to run the inspector as another user");
        Path setpriv = Path.of("/usr/bin/setpriv");
        Assumptions.assumeTrue(Files.isExecutable(setpriv), "skipped, needs setpriv (util-linux) to drop privileges");
        RealKvm.openOrSkip().close();
        Path dir = Files.createTempDirectory("kvmclock-notroot-");
        try (ChildGuest child = ChildGuest.start("kvmclock")) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            List<String> cp = new ArrayList<>();
            int i = 0;
            for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
                Path p = Path.of(e);
                if (Files.isRegularFile(p)) {
                    Path copy = dir.resolve(i++ + "-" + p.getFileName());
                    Files.copy(p, copy);
                    Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
                    cp.add(copy.toString());
                } else {
                    cp.add(e);
                }
            }
            Run inspect = asNobody(setpriv, String.join(File.pathSeparator, cp), "inspect", Long.toString(child.pid()));
            assertEquals(ExitCode.ENVIRONMENT, inspect.exit(), inspect.err());
            assertTrue(inspect.err().strip().lines().count() == 1 && inspect.err().contains("permission denied")
                    && inspect.err().contains("run as root"), inspect.err());

            Run vms = asNobody(setpriv, String.join(File.pathSeparator, cp), "vms");
            assertEquals(ExitCode.OK, vms.exit(), vms.err());
            assertFalse(vms.out().contains(" " + child.pid() + " "), "root's VM is not visible to nobody: " + vms.out());
            assertTrue(vms.err().contains("run as root to see every VM"), vms.err());
        } finally {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    private static Run asNobody(Path setpriv, String classpath, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(setpriv.toString(), "--reuid=65534", "--regid=65534", "--clear-groups",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", classpath, Main.class.getName()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(new File("/")).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        return new Run(p.exitValue(), out, err);
    }
}
