package io.kvmclock.restore;

import io.kvmclock.hv.Hypervisor;
import java.util.ArrayList;
import java.util.List;

/**
 * Times the parts of a restore on the backend's own clock (the model's time line on the model) and splits each
 * into the kernel's share (Hypervisor.ioctlNanos) and ours. Parts of the same step add up: every round's
 * KVM_SET_CLOCK is one "set" phase with as many calls as rounds. {@link #begin}/{@link #end} rather than
 * lambdas, so that a restore in a cold JVM links no call site for its own bookkeeping.
 */
public final class Phases {

    /** The steps of precise, in the order they run. */
    public enum Step {
        ENGAGE("engage"), READ_VCPU_TSC("read vCPU TSC"), SERVE_REQUESTS("serve requests"), REHEARSE("rehearse"),
        RATES("rates"), OFFSETS("offsets"), SET("set"), GET("get"), CONFIRM("confirm");

        final String label;

        Step(String label) {
            this.label = label;
        }
    }

    private static final Step[] STEPS = Step.values();

    private final Hypervisor hv;
    private final long[] wall = new long[STEPS.length];
    private final long[] kernel = new long[STEPS.length];
    private final int[] calls = new int[STEPS.length];
    private long w0;
    private long k0;

    public Phases(Hypervisor hv) {
        this.hv = hv;
    }

    /** Starts timing a step (steps do not nest). */
    public void begin() {
        k0 = hv.ioctlNanos();
        w0 = hv.stopwatchNs();
    }

    /** Ends the step begun last, adding its time to {@code step}. */
    public void end(Step step) {
        long w1 = hv.stopwatchNs();
        int i = step.ordinal();
        wall[i] += w1 - w0;
        kernel[i] += hv.ioctlNanos() - k0;
        calls[i]++;
    }

    public List<Phase> list() {
        List<Phase> out = new ArrayList<>();
        for (Step s : STEPS) {
            int i = s.ordinal();
            if (calls[i] > 0) {
                out.add(new Phase(s.label, wall[i], Math.min(wall[i], kernel[i]), calls[i]));
            }
        }
        return out;
    }
}
