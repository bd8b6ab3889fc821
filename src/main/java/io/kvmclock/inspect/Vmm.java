package io.kvmclock.inspect;

import java.util.List;
import java.util.Locale;

/** Which VMM a process is, from its comm and command line (comm is cut to 15 characters by the kernel). */
public enum Vmm {
    QEMU("qemu"), FIRECRACKER("firecracker"), CLOUD_HYPERVISOR("cloud-hypervisor"), CROSVM("crosvm"),
    KVMCLOCK("kvmclock"), OTHER("other");

    private final String label;

    Vmm(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    static Vmm of(String comm, List<String> cmdline) {
        String c = comm.toLowerCase(Locale.ROOT);
        String exe = cmdline.isEmpty() ? "" : cmdline.getFirst().toLowerCase(Locale.ROOT);
        if (c.startsWith("qemu") || exe.contains("qemu-system") || exe.endsWith("/qemu-kvm")) {
            return QEMU;
        }
        if (c.startsWith("firecracker") || exe.endsWith("firecracker")) {
            return FIRECRACKER;
        }
        if (c.startsWith("cloud-hyperviso") || exe.endsWith("cloud-hypervisor")) {
            return CLOUD_HYPERVISOR;
        }
        if (c.startsWith("crosvm") || exe.endsWith("crosvm")) {
            return CROSVM;
        }
        // the project's own JVMs: ./kvmclock runs the jar, the tests run classes of the io.kvmclock packages
        if (cmdline.stream().anyMatch(a -> a.startsWith("io.kvmclock.") || a.endsWith("kvmclock.jar"))) {
            return KVMCLOCK;
        }
        return OTHER;
    }
}
