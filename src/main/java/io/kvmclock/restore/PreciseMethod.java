package io.kvmclock.restore;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Vm;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Ours: makes the restored kvmclock the saved arithmetic function of the guest TSC to within
 * {@link #boundNs} on kernels without KVM_SET_CLOCK_GUEST.
 *
 * <p>Why it can: in master-clock mode KVM_GET_CLOCK returns one host TSC {@code h} and the kvmclock at
 * exactly that host TSC, computed from the same reference and mul/shift the guest uses (no TSC scaling), so
 * {@code clock - saved.read(h + offset)} is the exact error of the restored function. KVM_SET_CLOCK(c) makes
 * the kvmclock equal {@code c} at a new reference it takes inside the ioctl, a little after our last host
 * TSC reading. So: write the TSC offsets first (they take their own master clock reference), then repeat
 * {GET_CLOCK, SET_CLOCK(saved function at the predicted reference), GET_CLOCK} — learning where inside
 * the ioctl the reference lands from each round's exact error — until the error is within the bound.
 * No vCPU runs meanwhile. The report says how many rounds it took; missing the bound is an error.
 *
 * <p>Without a master clock (KVM_GET_CLOCK without TSC_STABLE) the kvmclock is no function of the TSC at
 * all: it falls back to {@link DocumentedMethod} and says so.
 */
public record PreciseMethod(DowntimePolicy policy, long boundNs, int maxRounds) implements RestoreMethod {

    public static final long DEFAULT_BOUND_NS = 1;
    public static final int DEFAULT_MAX_ROUNDS = 500;
    private static final int DELAY_WINDOW = 9;

    public PreciseMethod(DowntimePolicy policy) {
        this(policy, DEFAULT_BOUND_NS, DEFAULT_MAX_ROUNDS);
    }

    public PreciseMethod {
        if (policy == DowntimePolicy.MIXED) {
            throw new IllegalArgumentException("precise keeps kvmclock and TSC together: advance or freeze");
        }
        if (boundNs < 0 || maxRounds < 1) {
            throw new IllegalArgumentException("bound must be >= 0 ns and rounds >= 1");
        }
    }

    @Override
    public String name() {
        return "precise";
    }

    @Override
    public String summary() {
        return "kvmclock (ours): TSC offsets, then KVM_SET_CLOCK refined on exact KVM_GET_CLOCK readings to +-"
                + boundNs + " ns";
    }

    @Override
    public DowntimePolicy kvmclockPolicy() {
        return policy;
    }

    @Override
    public DowntimePolicy tscPolicy() {
        return policy;
    }

    @Override
    public String unsupportedReason(io.kvmclock.hv.ClockCapabilities caps) {
        return caps.vcpuAttributes() ? null : "needs KVM_CAP_VCPU_ATTRIBUTES (the TSC offset attribute)";
    }

    @Override
    public RestoreReport restore(RestoreTarget t, ClockState saved) {
        Vm vm = t.vm();
        if (!vm.getClock().has(ClockData.TSC_STABLE)) {
            return fallBack(t, saved, "no master clock on the destination (KVM_GET_CLOCK without TSC_STABLE)");
        }
        Offsets.apply(t, saved, new TscPlan(policy, Offsets.hostTscContinues(t, saved)));
        long off0 = t.vcpus().getFirst().getTscOffset();
        PvclockTimeInfo target = Saved.pvclock(saved, 0);
        long khz = saved.vcpus().getFirst().tscKhz();

        long[] delays = new long[DELAY_WINDOW];
        int seen = 0;
        long delay = 0;
        long err = Long.MAX_VALUE;
        for (int round = 1; round <= maxRounds; round++) {
            ClockData before = vm.getClock();
            if (!before.has(ClockData.TSC_STABLE)) {
                return fallBack(t, saved, "the master clock went away during the restore");
            }
            long predictedRef = before.hostTsc() + delay;
            vm.setClock(new ClockData(target.read(predictedRef + off0), 0, 0, 0));
            ClockData after = vm.getClock();
            err = after.clock() - target.read(after.hostTsc() + off0);
            if (Math.abs(err) <= boundNs) {
                return new RestoreReport(name(), round, err, false,
                        List.of("converged in " + round + " round(s); learned reference delay " + delay + " cycles"));
            }
            // c was err ns too large for the instant KVM took its reference: that instant was err ns earlier.
            long observed = delay - signedNsToCycles(err, khz);
            delays[seen % DELAY_WINDOW] = observed;
            seen++;
            delay = median(delays, Math.min(seen, DELAY_WINDOW));
        }
        throw new RestoreFailedException("precise: the kvmclock is still " + err + " ns off the saved function after "
                + maxRounds + " KVM_SET_CLOCK rounds (bound +-" + boundNs + " ns); not reporting success");
    }

    private RestoreReport fallBack(RestoreTarget t, ClockState saved, String why) {
        RestoreReport r = new DocumentedMethod().restore(t, saved);
        List<String> notes = new ArrayList<>(r.notes());
        notes.addFirst(why + ": fell back to the documented method; the kvmclock cannot be an exact function of the TSC here");
        return new RestoreReport(name(), r.rounds(), null, true, notes);
    }

    static long signedNsToCycles(long ns, long khz) {
        return ns >= 0 ? Units.nsToCycles(ns, khz) : -Units.nsToCycles(-ns, khz);
    }

    private static long median(long[] values, int n) {
        long[] copy = Arrays.copyOf(values, n);
        Arrays.sort(copy);
        return copy[n / 2];
    }
}
