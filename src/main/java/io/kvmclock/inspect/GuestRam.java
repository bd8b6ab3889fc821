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
            Mapping own = noReserve.contains(m) && !memoryBacked ? belowArena(maps, k) : m;
            boolean wholeMib = own.size() >= MIB && own.size() % MIB == 0;
            if (wholeMib && (memoryBacked || noReserve.contains(m))) {
                likely.add(own);
            } else if (own.size() > 0) {
                others.add(own);
            }
            if (own.end() != m.end()) {
                others.add(new Mapping(own.end(), m.end(), m.perms(), m.offset(), m.path()));
            }
        }
        long bytes = declaredBytes.orElseGet(() -> likely.isEmpty()
                ? others.stream().filter(m -> m.size() >= MIB && m.size() % MIB == 0).mapToLong(Mapping::size).sum()
                : likely.stream().mapToLong(Mapping::size).sum());
        return new GuestRam(likely, others, bytes);
    }

    /**
     * A MAP_NORESERVE mapping without the malloc arena heap in it. glibc's arenas are MAP_NORESERVE too: 64 MiB
     * reservations (HEAP_MAX_SIZE) at 64 MiB-aligned addresses whose usable part grows into the PROT_NONE rest.
     * One that happens to be a whole number of MiB is not guest RAM (it still gets scanned, with the others), so
     * what is left of it is empty. Guest RAM mapped just below an arena has the same flags, and the kernel
     * merges the two into one mapping (vma_merge): [guest RAM][heap], then the rest; what is left is the part
     * below the arena. Any other mapping is left as it is.
     */
    private static Mapping belowArena(List<Mapping> maps, int k) {
        Mapping m = maps.get(k);
        Mapping none = new Mapping(m.start(), m.start(), m.perms(), m.offset(), m.path());
        if (m.start() % ARENA == 0 && m.size() == ARENA) {
            return none;
        }
        if (k + 1 >= maps.size()) {
            return m;
        }
        Mapping rest = maps.get(k + 1);
        long arena = rest.end() - ARENA;
        if (rest.start() != m.end() || !rest.perms().startsWith("---") || rest.end() % ARENA != 0
                || arena < m.start() || arena >= m.end()) {
            return m;
        }
        return arena == m.start() ? none : new Mapping(m.start(), arena, m.perms(), m.offset(), m.path());
    }
}
