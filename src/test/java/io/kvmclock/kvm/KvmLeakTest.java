package io.kvmclock.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** 500 VM create/run/close cycles leave no fd and no mapping behind. */
@Tag("kvm")
class KvmLeakTest {

    private static long fds() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    private static List<String> maps() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps"));
    }

    private static long kvmMaps(List<String> maps) {
        return maps.stream().filter(l -> l.contains("anon_inode:kvm") || l.endsWith("/guest-mem")).count();
    }

    @Test
    void fiveHundredVmCyclesLeakNothing(@TempDir Path dir) throws IOException {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            Path shared = dir.resolve("guest-mem");
            cycle(hv, 10, shared); // warm up: JIT, arenas, the clock VM
            long fd0 = fds();
            List<String> maps0 = maps();
            cycle(hv, 500, shared);
            long fd1 = fds();
            List<String> maps1 = maps();
            assertEquals(fd0, fd1, "open fds before and after 500 VM cycles");
            assertEquals(kvmMaps(maps0), kvmMaps(maps1), "kvm_run and shared guest memory mappings");
            // anonymous guest memory is not named in maps: a leak of one mapping per cycle would add 500+
            // lines, while the JVM itself may add or merge a few
            assertTrue(Math.abs(maps1.size() - maps0.size()) < 50,
                    "mappings went from " + maps0.size() + " to " + maps1.size());
        }
    }

    /** Each cycle: a VM (every other one on the shared file), a vCPU, one guest TSC report, close. */
    private static void cycle(Hypervisor hv, int n, Path shared) {
        for (int i = 0; i < n; i++) {
            VmConfig config = new VmConfig(VmConfig.DEFAULT_MEMORY, i % 2 == 0 ? Optional.empty() : Optional.of(shared));
            try (Vm vm = hv.createVm(config)) {
                ClockGuest.boot(vm).readTsc();
            }
        }
    }
}
