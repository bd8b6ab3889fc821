package io.kvmclock.inspect;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Where a VMM's guest RAM is, as far as /proc/PID/maps and smaps can tell without KVM's memslots (from
 * outside, KVM answers no ioctl). {@code likely} are the mappings VMMs make for guest RAM: memory-backed
 * shared mappings (shm, memfd, hugetlbfs) and anonymous mappings made with MAP_NORESERVE (smaps VmFlags
 * {@code nr}; the project's KVM backend and the rust-vmm crates under Firecracker and Cloud Hypervisor map
 * RAM so), each a whole number of MiB. {@code others} are the remaining writable anonymous mappings (QEMU's
 * default RAM is one of them, and so are heaps and stacks). The scanner looks at {@code likely} first and at
 * {@code others} only when that finds nothing, so a JVM's heap, which can hold copies of a pvclock the VMM
 * read, is not taken for guest RAM. {@code bytes} is the RAM size: QEMU's {@code -m} when it gives one,
 * else the total of {@code likely} (or, without any, of {@code others} of a whole number of MiB).
 */
public record GuestRam(List<Mapping> likely, List<Mapping> others, long bytes) {

    private static final long MIB = 1L << 20;
    private static final long ARENA = 64 * MIB;

    public GuestRam {
        likely = List.copyOf(likely);
        others = List.copyOf(others);
    }

    /** Everything the scanner may read, likely first. */
    public List<Mapping> all() {
        List<Mapping> all = new ArrayList<>(likely);
        all.addAll(others);
        return all;
    }

    static GuestRam classify(List<Mapping> maps, List<Mapping> noReserve, Optional<Long> declaredBytes) {
        List<Mapping> likely = new ArrayList<>();
        List<Mapping> others = new ArrayList<>();
        for (int k = 0; k < maps.size(); k++) {
            Mapping m = maps.get(k);
            if (!m.mayBeGuestRam() || m.path().startsWith("[")) {
                continue;
            }
            boolean memoryBacked = !m.path().isEmpty() && m.shared();
            boolean wholeMib = m.size() >= MIB && m.size() % MIB == 0;
            if (wholeMib && (memoryBacked || (noReserve.contains(m) && !mallocArena(maps, k)))) {
                likely.add(m);
            } else {
                others.add(m);
            }
        }
        long bytes = declaredBytes.orElseGet(() -> likely.isEmpty()
                ? others.stream().filter(m -> m.size() >= MIB && m.size() % MIB == 0).mapToLong(Mapping::size).sum()
                : likely.stream().mapToLong(Mapping::size).sum());
        return new GuestRam(likely, others, bytes);
    }

    /**
     * glibc's malloc arenas are MAP_NORESERVE too: 64 MiB reservations (HEAP_MAX_SIZE) at 64 MiB-aligned
     * addresses whose usable part grows into the PROT_NONE rest. One that happens to be a whole number of MiB
     * is not guest RAM (a guest mapping of that shape still gets scanned, with the others).
     */
    private static boolean mallocArena(List<Mapping> maps, int k) {
        Mapping m = maps.get(k);
        if (m.start() % ARENA != 0 || m.size() > ARENA) {
            return false;
        }
        if (m.size() == ARENA) {
            return true;
        }
        if (k + 1 >= maps.size()) {
            return false;
        }
        Mapping rest = maps.get(k + 1);
        return rest.start() == m.end() && rest.perms().startsWith("---") && rest.end() == m.start() + ARENA;
    }
}
