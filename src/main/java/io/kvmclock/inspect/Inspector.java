package io.kvmclock.inspect;

import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.inspect.InspectException.Problem;
import io.kvmclock.time.PvclockTimeInfo;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Looks at a running VM from outside: finds its vCPUs' pvclocks in guest RAM (or re-validates where they were
 * found last time), reads the host TSC between two readings of them, and works out each vCPU's reference age
 * and pending step. Reads only; nothing is written to the target.
 */
public final class Inspector {
    private static final int READ_ATTEMPTS = 8;
    private static final int ALIGNED = 64;
    /** The process start time /proc gives is in clock ticks (10 ms); a second covers that and clock skew. */
    private static final long START_SLACK_NS = 1_000_000_000L;

    private final Host host;
    private final Debugfs debugfs;
    private final PvclockScanner scanner;
    private final PvclockScanner hostRateOnly;

    public Inspector(Host host, Debugfs debugfs) {
        this.host = host;
        this.debugfs = debugfs;
        this.scanner = new PvclockScanner(host.tscKhz(), host.scalesTsc());
        this.hostRateOnly = new PvclockScanner(host.tscKhz(), false);
    }

    /** A fresh look: scans guest RAM (trying {@code gpaHint} first, as an offset into each RAM mapping). */
    public Inspection inspect(VmProcess p, Optional<Long> gpaHint, PvclockScanner.Progress progress) {
        try (TargetMemory mem = new TargetMemory(p)) {
            List<PvclockScanner.Found> hinted = gpaHint.map(g -> atGpa(mem, p, g)).orElse(List.of());
            Optional<PvclockScanner.Stats> stats = Optional.empty();
            List<PvclockScanner.Found> found = new ArrayList<>(hinted);
            if (hinted.size() < Math.max(1, p.vcpus().size())) {
                PvclockScanner.Result r = scanner.scan(mem, p.guestRam().likely(), progress);
                long mapped = r.stats().mappedBytes();
                long read = r.stats().readBytes();
                long nanos = r.stats().nanos();
                List<PvclockScanner.Found> hits = r.found();
                if (hits.isEmpty()) {
                    // no pvclock where VMMs put RAM: the rest (e.g. QEMU's default anonymous RAM), at the host's
                    // rate only: heaps hold tables that pass for a pvclock of some other whole-kHz rate
                    PvclockScanner.Result rest = hostRateOnly.scan(mem, p.guestRam().others(), progress);
                    hits = rest.found();
                    mapped += rest.stats().mappedBytes();
                    read += rest.stats().readBytes();
                    nanos += rest.stats().nanos();
                }
                stats = Optional.of(new PvclockScanner.Stats(mapped, read, nanos));
                found.addAll(hits);
            }
            List<PvclockScanner.Found> chosen = choose(notJavaCopies(p, mem, plausible(p, found)),
                    Math.max(1, p.vcpus().size()));
            if (chosen.isEmpty()) {
                long bytes = stats.map(PvclockScanner.Stats::mappedBytes).orElse(0L);
                throw new InspectException(Problem.NO_PVCLOCK, "no pvclock in the guest RAM of " + p.pid() + " ("
                        + p.vmmName() + ", " + (bytes >> 20) + " MiB of mappings scanned" + gpaHint.map(
                                g -> ", none at GPA 0x" + Long.toHexString(g)).orElse("")
                        + "): the guest has not enabled kvmclock, or not at a rate of this host ("
                        + host.tscKhz() + " kHz)");
            }
            return measure(p, mem, chosen, stats);
        }
    }

    /**
     * The cheap look a watch or a scrape takes: re-reads the pvclocks where {@code previous} found them and,
     * if any is no longer a valid pvclock there (the guest moved it, or the VMM remapped RAM), scans afresh.
     */
    public Inspection revalidate(Inspection previous, PvclockScanner.Progress progress) {
        VmProcess p = previous.process();
        if (!ProcFs.alive(p)) {
            throw new InspectException(Problem.EXITED, "process " + p.pid() + " (" + p.vmmName() + ") exited");
        }
        try (TargetMemory mem = new TargetMemory(p)) {
            List<PvclockScanner.Found> again = new ArrayList<>();
            for (VcpuClock v : previous.vcpus()) {
                Optional<PvclockScanner.Found> f = readStable(mem, v.found().hva(), v.found().mapping());
                if (f.isEmpty()) {
                    return inspect(p, Optional.empty(), progress);
                }
                again.add(f.get());
            }
            return measure(p, mem, again, Optional.empty());
        }
    }

    /**
     * Where guests run on the host TSC (kvm_pvm), a pvclock's tsc_timestamp is a host TSC value KVM read for
     * a reference of this VM, so it lies between the VMM's start and now: anything else is data that only
     * looks like a pvclock (a JVM's heap holds such tables). Elsewhere the guest TSC is unknown and all pass.
     */
    private List<PvclockScanner.Found> plausible(VmProcess p, List<PvclockScanner.Found> found) {
        if (!host.guestsRunOnHostTsc() || found.isEmpty()) {
            return found;
        }
        long now = host.hostTsc().getAsLong();
        long lifeNs = Duration.between(p.started(), Instant.now()).toNanos() + START_SLACK_NS;
        long earliest = now - BigInteger.valueOf(lifeNs).multiply(BigInteger.valueOf(host.tscKhz()))
                .divide(BigInteger.valueOf(1_000_000)).longValueExact();
        return found.stream().filter(f -> Long.compareUnsigned(f.pvclock().tscTimestamp(), now) <= 0
                && Long.compareUnsigned(f.pvclock().tscTimestamp(), earliest) >= 0).toList();
    }

    /**
     * The project's own VMMs are JVMs, whose heap holds the {@code byte[32]} copies their code read of the
     * pvclock: a hit whose 4 bytes before are 32 is such an array's data after its length field (HotSpot's
     * array header), not a structure KVM writes. Only for those VMMs: in a guest, 32 there means nothing.
     */
    private static List<PvclockScanner.Found> notJavaCopies(VmProcess p, TargetMemory mem, List<PvclockScanner.Found> found) {
        if (p.vmm() != Vmm.KVMCLOCK) {
            return found;
        }
        return found.stream().filter(f -> {
            byte[] before = mem.readBytes(f.hva() - 4, 4);
            return before.length != 4 || ByteBuffer.wrap(before).order(ByteOrder.LITTLE_ENDIAN)
                    .getInt() != PvclockTimeInfo.SIZE;
        }).toList();
    }

    private List<PvclockScanner.Found> atGpa(TargetMemory mem, VmProcess p, long gpa) {
        List<PvclockScanner.Found> out = new ArrayList<>();
        for (Mapping m : p.guestRam().all()) {
            if (gpa >= 0 && gpa + PvclockTimeInfo.SIZE <= m.size()) {
                readStable(mem, m.start() + gpa, m).ifPresent(out::add);
            }
        }
        return choose(plausible(p, out), Math.max(1, p.vcpus().size()));
    }

    /**
     * Which hits are the vCPUs' pvclocks: in master-clock mode all vCPUs share KVM's newest reference, so the
     * hits of the newest reference (by system_time) come first. A guest may keep copies of its pvclock (the
     * project's QEMU firmware stores samples of it, docs/inspect.md), which carry the same reference; the
     * structures KVM writes are where guests put them, 64-byte aligned in a page (Linux's per-cpu array, in
     * cpu order; cpu 0's at the start of a page, as the project's guests and QEMU firmware put theirs too), so
     * page-aligned hits come first, then 64-byte-aligned ones, then the others, each in address order; a second
     * vCPU is only ever given an aligned one.
     */
    static List<PvclockScanner.Found> choose(List<PvclockScanner.Found> hits, int vcpus) {
        Map<Long, PvclockScanner.Found> byHva = new LinkedHashMap<>();
        hits.forEach(h -> byHva.putIfAbsent(h.hva(), h));
        List<PvclockScanner.Found> sorted = new ArrayList<>(byHva.values());
        sorted.sort(Comparator.comparingLong((PvclockScanner.Found f) -> f.pvclock().systemTime()).reversed()
                .thenComparingInt(f -> f.hva() % TargetMemory.PAGE == 0 ? 0 : f.hva() % ALIGNED == 0 ? 1 : 2)
                .thenComparing(f -> f.hva(), Long::compareUnsigned));
        if (sorted.isEmpty()) {
            return sorted;
        }
        // the best hit is vCPU 0's; another vCPU's is an aligned one, never a copy at an odd place (a guest that
        // enabled kvmclock on fewer vCPUs than it has must not get its copies counted as theirs)
        List<PvclockScanner.Found> out = new ArrayList<>(List.of(sorted.getFirst()));
        for (PvclockScanner.Found f : sorted.subList(1, sorted.size())) {
            if (out.size() < vcpus && f.hva() % ALIGNED == 0) {
                out.add(f);
            }
        }
        return out;
    }

    private Optional<PvclockScanner.Found> readStable(TargetMemory mem, long hva, Mapping m) {
        for (int i = 0; i < READ_ATTEMPTS; i++) {
            byte[] a = mem.readBytes(hva, PvclockTimeInfo.SIZE);
            byte[] b = mem.readBytes(hva, PvclockTimeInfo.SIZE);
            if (a.length == 0 || b.length == 0) {
                return Optional.empty();
            }
            if (Arrays.equals(a, b) && (a[0] & 1) == 0) {
                return scanner.check(hva, a, m);
            }
            Thread.onSpinWait();
        }
        return Optional.empty();
    }

    /** Reads the pvclocks, the host TSC, the pvclocks again; retries while KVM rewrote one in between. */
    private Inspection measure(VmProcess p, TargetMemory mem, List<PvclockScanner.Found> where,
                               Optional<PvclockScanner.Stats> stats) {
        for (int attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
            List<PvclockScanner.Found> before = reread(mem, where);
            long hostTsc = host.hostTsc().getAsLong();
            List<PvclockScanner.Found> after = reread(mem, where);
            if (before.equals(after)) {
                return evaluate(p, after, hostTsc, stats);
            }
        }
        throw new InspectException(Problem.NO_PVCLOCK, "the pvclocks of " + p.pid()
                + " kept changing while they were read: try again");
    }

    private List<PvclockScanner.Found> reread(TargetMemory mem, List<PvclockScanner.Found> where) {
        List<PvclockScanner.Found> out = new ArrayList<>();
        for (PvclockScanner.Found f : where) {
            out.add(readStable(mem, f.hva(), f.mapping()).orElseThrow(() -> new InspectException(Problem.NO_PVCLOCK,
                    "the pvclock at 0x" + Long.toHexString(f.hva()) + " is gone: the guest moved it; inspect again")));
        }
        return out;
    }

    private Inspection evaluate(VmProcess p, List<PvclockScanner.Found> found, long hostTsc,
                                Optional<PvclockScanner.Stats> stats) {
        List<VcpuClock> out = new ArrayList<>();
        List<VmProcess.Vcpu> ids = p.vcpus().stream().sorted(Comparator.comparingInt(VmProcess.Vcpu::id)).toList();
        // A process can hold more than one VM (each with its vcpu:0): numbers already given are not given again,
        // so every vCPU of a process has its own label (Prometheus refuses duplicate label sets).
        Set<Integer> used = new HashSet<>();
        for (int i = 0; i < found.size(); i++) {
            int vcpu = i < ids.size() ? ids.get(i).id() : i;
            while (!used.add(vcpu)) {
                vcpu++;
            }
            TscOffset offset = debugfs.tscOffset(p.pid(), p.vmFds(), vcpu, host);
            out.add(clock(vcpu, found.get(i), offset, hostTsc));
        }
        Inspection tmp = new Inspection(p, host.tscKhz(), out, Optional.empty(), stats);
        Optional<Boolean> agree = tmp.distinctOffsets().map(n -> n <= 1);
        return new Inspection(p, host.tscKhz(), out, agree, stats);
    }

    private VcpuClock clock(int vcpu, PvclockScanner.Found f, TscOffset offset, long hostTsc) {
        if (!f.hostRate()) {
            return unknown(vcpu, f, offset, "the guest's TSC is scaled to " + f.encodedKhz() + " kHz (host "
                    + host.tscKhz() + " kHz): its age in host cycles needs the scaling ratio");
        }
        return switch (offset) {
            case TscOffset.Unknown u -> unknown(vcpu, f, offset, "the vCPU's TSC offset is unknown: " + u.reason());
            case TscOffset.Known k -> {
                long age = hostTsc + k.offset() - f.pvclock().tscTimestamp();
                if (age < 0) {
                    yield unknown(vcpu, f, offset, "the pvclock's tsc_timestamp is " + (-age)
                            + " cycles ahead of the guest TSC now: the offset (" + k.source() + ") does not fit");
                }
                BigDecimal seconds = BigDecimal.valueOf(age).divide(BigDecimal.valueOf(host.tscKhz() * 1000L), 9,
                        RoundingMode.HALF_EVEN);
                yield new VcpuClock(vcpu, f, offset, Optional.of(age), Optional.of(seconds),
                        Optional.of(DriftPredictor.stepNs(host.tscKhz(), age)), "");
            }
        };
    }

    private static VcpuClock unknown(int vcpu, PvclockScanner.Found f, TscOffset offset, String why) {
        return new VcpuClock(vcpu, f, offset, Optional.empty(), Optional.empty(), Optional.empty(), why);
    }
}
