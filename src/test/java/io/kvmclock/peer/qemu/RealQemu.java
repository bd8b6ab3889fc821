package io.kvmclock.peer.qemu;

import io.kvmclock.kvm.KvmHypervisor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/** The real QEMU for a test, or a skip with the reason: no qemu-system-x86_64 on PATH, or no usable /dev/kvm. */
public final class RealQemu {
    private RealQemu() {}

    /** Skips without a usable /dev/kvm (for the tests of QEMU's error paths, which start no real QEMU). */
    public static void kvmOrSkip() {
        Optional<String> kvm = KvmHypervisor.unavailableReason();
        Assumptions.assumeTrue(kvm.isEmpty(), () -> "skipped, real KVM needed: " + kvm.orElseThrow());
    }

    public static Path orSkip() {
        Optional<Path> qemu = QemuProcess.findOnPath();
        Assumptions.assumeTrue(qemu.isPresent(),
                "skipped, real QEMU needed: " + QemuProcess.BINARY + " is not on PATH (apt-get install qemu-system-x86)");
        Optional<String> kvm = KvmHypervisor.unavailableReason();
        Assumptions.assumeTrue(kvm.isEmpty(), () -> "skipped, real KVM needed for QEMU: " + kvm.orElseThrow());
        return qemu.get();
    }

    /**
     * A stand-in {@code qemu-system-x86_64} in {@code dir} that answers --version as QEMU 7.2.22 does and
     * otherwise prints {@code stderr} and exits 1, as QEMU does when it cannot start.
     */
    public static Path failingAtStart(Path dir, String stderr) throws IOException {
        Path fake = dir.resolve(QemuProcess.BINARY);
        Files.writeString(fake, "#!/bin/sh\n"
                + "if [ \"$1\" = --version ]; then echo 'QEMU emulator version 7.2.22'; exit 0; fi\n"
                + "cat >&2 <<'EOF'\n" + stderr + "EOF\nexit 1\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwx------"));
        return fake;
    }
}
