package io.kvmclock.inspect;

import io.kvmclock.drift.Durations;
import java.util.List;
import java.util.Optional;

/**
 * The result of inspecting one VMM: its vCPUs' clocks, whether their TSC offsets agree (empty when not all
 * are known), the scan that found the pvclocks (empty when cached locations were re-validated), and the
 * host's tsc_khz they were checked against.
 */
public record Inspection(VmProcess process, long hostTscKhz, List<VcpuClock> vcpus, Optional<Boolean> offsetsAgree,
                         Optional<PvclockScanner.Stats> scan) {

    /** Steps from this size up get the drift policy advice. */
    public static final long ADVICE_NS = 1_000_000;

    public Inspection {
        vcpus = List.copyOf(vcpus);
    }

    /** Distinct TSC offsets among the vCPUs, where all are known. */
    public Optional<Long> distinctOffsets() {
        if (vcpus.stream().anyMatch(v -> !(v.offset() instanceof TscOffset.Known))) {
            return Optional.empty();
        }
        return Optional.of(vcpus.stream().map(v -> ((TscOffset.Known) v.offset()).offset()).distinct().count());
    }

    /** One line for people: what a master clock refresh would do to this guest now, and what to do. */
    public String verdict() {
        Optional<VcpuClock> worst = vcpus.stream().filter(v -> v.pendingStepNs().isPresent())
                .max((a, b) -> Long.compare(Math.abs(a.pendingStepNs().get()), Math.abs(b.pendingStepNs().get())));
        if (worst.isEmpty()) {
            return "the pending step is unknown: " + vcpus.getFirst().unknownWhy();
        }
        long step = worst.get().pendingStepNs().get();
        StringBuilder b = new StringBuilder("a master clock refresh now steps this guest ");
        b.append(step < 0 ? "back " : step > 0 ? "forward " : "by ").append(Durations.formatNs(Math.abs(step)));
        b.append(" (reference ").append(Durations.formatNs(worst.get().referenceAgeSeconds().orElseThrow()
                .movePointRight(9).longValue())).append(" old)");
        if (Math.abs(step) >= ADVICE_NS) {
            b.append("; `kvmclock drift policy --max-jump ").append(ADVICE_NS).append(" --tsc-khz ").append(hostTscKhz)
                    .append("` gives a refresh period that keeps it under 1 ms");
        }
        if (!worst.get().pvclock().tscStable()) {
            b.append("; TSC_STABLE is clear, so KVM keeps no master clock and refreshes this vCPU on its own");
        }
        if (vcpus.size() < process.vcpus().size()) {
            b.append("; only ").append(vcpus.size()).append(" of its ").append(process.vcpus().size())
                    .append(" vCPUs have a pvclock (the others have not enabled kvmclock)");
        }
        if (offsetsAgree.isPresent() && !offsetsAgree.get()) {
            b.append("; the vCPUs' TSC offsets differ, which keeps KVM from using a master clock");
        }
        return b.toString();
    }
}
