package io.kvmclock.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmclock.inspect.ChildGuest;
import io.kvmclock.kvm.RealKvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * KVM's debugfs where it is mounted: the test mounts a private debugfs (root only), inspect finds it through
 * /proc/mounts and reads the vCPU's tsc-offset, which must be the offset the VMM itself gets from KVM; the
 * mount is removed on every path. Without a mount the offset comes from the vendor module or is unknown
 * (InspectCommandTest).
 */
class DebugfsTest {

    @Test
    void aMountedDebugfsGivesTheVcpusTscOffset() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "skipped, mounting debugfs needs root");
        RealKvm.openOrSkip().close();
        Path mnt = Files.createTempDirectory("kvmclock-debugfs-");
        boolean mounted = false;
        try {
            mounted = run("mount", "-t", "debugfs", "none", mnt.toString()) == 0;
            Assumptions.assumeTrue(mounted, "skipped, this system does not let even root mount debugfs");
            Assumptions.assumeTrue(Files.isDirectory(mnt.resolve("kvm")), "skipped, debugfs has no kvm directory");
            try (ChildGuest child = ChildGuest.start("kvmclock")) {
                CliRun r = CliRun.of("inspect", Long.toString(child.pid()), "--json");
                assertEquals(0, r.exitCode(), r.err());
                JsonNode v = r.json().get("vcpus").get(0);
                assertTrue(v.get("tscOffsetSource").asText().startsWith(mnt.resolve("kvm").toString())
                        && v.get("tscOffsetSource").asText().endsWith("/vcpu0/tsc-offset"), v.toString());
                assertEquals(Long.parseLong(child.ask("offset").get("offset")), v.get("tscOffset").asLong(),
                        "debugfs gives the offset KVM gives the VMM");
            }
        } finally {
            if (mounted) {
                run("umount", mnt.toString());
            }
            Files.deleteIfExists(mnt);
        }
    }

    private static int run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            return -1;
        }
        return p.exitValue();
    }
}
