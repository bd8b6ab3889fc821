package io.kvmclock.peer.qemu;

import io.kvmclock.demo.Summary;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.peer.qemu.Firmware.Sample;
import io.kvmclock.peer.qemu.Observation.Timed;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.QemuMethod;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreTarget;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The project's {@code qemu} restore method ({@link QemuMethod}) on the project's own VMM, one trial per
 * blackout real QEMU showed: the clock guest is captured, paused, kept out for that blackout, resumed in a
 * fresh VM and restored by the method, and measured as {@link Observation} measures real QEMU's guest. The
 * vCPU is driven by the host here, so the last sample before the pause and the first after it are also the
 * host-timed ones.
 */
public final class Reimplementation {
    private Reimplementation() {}

    public static final RestoreMethod METHOD = new QemuMethod();

    /** Unrecorded trials first: the very first (a cold JIT, a cold VM path) only warms up, the rest measure the method's own work. */
    private static final int WARM_UP = 3;

    /**
     * One trial per entry of {@code blackoutsNs}, each keeping the guest out for that long in all: the method's
     * own work (a fresh VM, the restore, the first run) counts towards it, so the time it is kept waiting is
     * the blackout minus the median of that work so far (measured first by unrecorded warm-up trials).
     */
    /**
     * When QEMU saves the guest's clock (hw/i386/kvm/clock.c): at the stop, where the vm-state handler reads
     * KVM_GET_CLOCK and keeps it (stop/cont, and a migration of a guest the user had paused); or at the
     * device-state save of a migration of a running guest, where kvmclock_pre_save reads it again, after the
     * final RAM pass, so the kvmclock counts that pass and freezes only from there to the destination's
     * KVM_SET_CLOCK.
     */
    public enum ClockSave { AT_STOP, AT_DEVICE_SAVE }

    /** Where QEMU reads the clock in each scenario (all three here start from a running guest). */
    public static ClockSave clockSave(Scenario s) {
        return switch (s) {
            case STOP_CONT -> ClockSave.AT_STOP;
            case MIGRATE, SNAPSHOT -> ClockSave.AT_DEVICE_SAVE;
        };
    }

    public static List<Observation> run(Hypervisor hv, List<Long> blackoutsNs, ClockSave save, String label, Progress progress) {
        List<Observation> out = new ArrayList<>();
        List<Long> overheads = new ArrayList<>();
        ClockGuest booted = ClockGuest.boot(hv.createVm(VmConfig.defaults()));
        Trial t;
        try {
            booted.readTsc();
            t = trial(hv, booted, save, 0);
        } catch (RuntimeException e) {
            booted.vm().close();
            throw e;
        }
        try {
            for (int w = 1; w < WARM_UP; w++) {
                t = trial(hv, t.guest(), save, 0);
                overheads.add(t.observation().pauseMicros() * 1000);
            }
            for (int i = 0; i < blackoutsNs.size(); i++) {
                progress.update(label, i + 1, blackoutsNs.size());
                long overhead = Summary.of(overheads.stream().mapToLong(Long::longValue).toArray()).median();
                long wait = Math.max(0, blackoutsNs.get(i) - overhead);
                t = trial(hv, t.guest(), save, wait);
                out.add(t.observation());
                overheads.add(t.observation().pauseMicros() * 1000 - wait);
            }
        } finally {
            t.guest().vm().close();
        }
        return out;
    }

    private record Trial(ClockGuest guest, Observation observation) {}

    private static ClockState capture(Hypervisor hv, ClockGuest g) {
        return ClockCapture.capture(hv, g.vm(), List.of(g.vcpu()), v -> g.readPvclock(), CaptureKind.LIVE_UPDATE);
    }

    /**
     * Capture, pause (the guest's CPU state and memory copied out), wait {@code waitNs}, resume in a fresh
     * VM, restore with the method, measure; with {@link ClockSave#AT_DEVICE_SAVE} the clock is captured after
     * the memory copy, as QEMU's kvmclock_pre_save does after the final RAM pass.
     */
    private static Trial trial(Hypervisor hv, ClockGuest src, ClockSave save, long waitNs) {
        long tLast = src.readTsc();
        long h0 = hv.monotonicRawNs();
        PvclockTimeInfo pv0 = src.readPvclock();
        ClockState atStop = capture(hv, src);
        ClockGuest.Snapshot image = src.pause(true);
        ClockState saved = save == ClockSave.AT_STOP ? atStop : capture(hv, src);
        hv.elapse(waitNs);
        Vm vm = hv.createVm(VmConfig.defaults());
        ClockGuest dst;
        try {
            dst = ClockGuest.resume(vm, vm.createVcpu(0), image);
            METHOD.restore(new RestoreTarget(hv, vm, List.of(dst.vcpu())), saved);
        } catch (RuntimeException e) {
            vm.close();
            throw e;
        }
        long tFirst = dst.readTsc();
        long h1 = hv.monotonicRawNs();
        PvclockTimeInfo pv1 = dst.readPvclock();
        Sample last = new Sample(tLast, pv0);
        Sample first = new Sample(tFirst, pv1);
        Observation o = Observation.of(new Timed(h0, last), new Timed(h1, first), last, first, pv0.scale().toHz() / 1000,
                (h1 - h0) / 1000, OptionalLong.empty());
        src.vm().close();
        return new Trial(dst, o);
    }
}
