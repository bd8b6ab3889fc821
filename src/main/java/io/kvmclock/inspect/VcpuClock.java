package io.kvmclock.inspect;

import io.kvmclock.drift.DriftPredictor;
import io.kvmclock.time.PvclockTimeInfo;
import java.math.BigDecimal;
import java.util.Optional;

/**
 * One vCPU's kvmclock as seen from outside: the pvclock found for it, its TSC offset, and, where the guest
 * TSC now can be known, the age of KVM's reference in guest TSC cycles and the step a new reference would give
 * the guest now ({@link DriftPredictor#stepNs}, exact). {@code unknownWhy} says why the age is missing.
 */
public record VcpuClock(int vcpu, PvclockScanner.Found found, TscOffset offset, Optional<Long> referenceAgeCycles,
                        Optional<BigDecimal> referenceAgeSeconds, Optional<Long> pendingStepNs, String unknownWhy) {

    public PvclockTimeInfo pvclock() {
        return found.pvclock();
    }

    public Optional<DriftPredictor.Direction> direction() {
        return pendingStepNs.map(DriftPredictor.Direction::of);
    }
}
