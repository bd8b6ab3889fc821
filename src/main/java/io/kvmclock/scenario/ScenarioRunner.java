package io.kvmclock.scenario;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.RestoreFailedException;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreMethods;
import io.kvmclock.restore.RestoreReport;
import io.kvmclock.restore.RestoreTarget;
import io.kvmclock.restore.UnsupportedMethodException;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.sim.SimVcpu;
import io.kvmclock.sim.SimVm;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.time.PvclockTimeInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;

/**
 * Runs a {@link Scenario} on the model and records what the guest sees: every change of its kvmclock that
 * is not the passage of time. vCPU 0 reads kvmclock at every sample (each read is a KVM_RUN, so pending
 * clock requests are served then, as on a busy guest). Two kinds of steps:
 * <ul>
 *   <li>{@code reference} (outside actions; during one, vCPU 0's are part of the action's step): a new pvclock at a vCPU entry; the step is new minus old pvclock at the same
 *       guest TSC (exact: what a guest reading across the update sees).</li>
 *   <li>an action (kexec, migrate, TSC write, ...): the guest reads just before and just after; the step is
 *       the kvmclock advance minus the true time that passed (0 = the guest lost and gained nothing).</li>
 * </ul>
 */
public final class ScenarioRunner {

    /** One guest-visible clock event; {@code stepNs} negative means the guest clock went backwards. */
    public record ClockEvent(long atNs, String kind, int vcpu, long stepNs, String detail) {
        public boolean backwards() {
            return stepNs < 0;
        }
    }

    /** kvmclock of vCPU 0 minus the true time line, relative to the first sample. */
    public record Sample(long atNs, long offsetNs) {}

    public record Result(Scenario scenario, List<ClockEvent> events, List<Sample> samples, long references) {
        public List<ClockEvent> steps() {
            return events.stream().filter(e -> e.stepNs != 0).toList();
        }
    }

    private final Scenario scenario;
    private SimHypervisor hv;
    private SimVm vm;
    private final List<SimVcpu> vcpus = new ArrayList<>();
    private final List<Optional<PvclockTimeInfo>> seen = new ArrayList<>();
    private final List<ClockEvent> events = new ArrayList<>();
    private final List<Sample> samples = new ArrayList<>();
    private long guestKhz;
    private long base;
    private boolean baseSet;
    private long references;
    private int nextId;
    /** During an action vCPU 0's re-references are part of the action's own step, not separate events. */
    private boolean inAction;

    private ScenarioRunner(Scenario scenario) {
        this.scenario = scenario;
    }

    public static Result run(Scenario scenario) {
        return new ScenarioRunner(scenario).execute();
    }

    private record Pending(long at, long seq, Scenario.Event event) {}

    private Result execute() {
        Scenario.HostSpec hs = scenario.host();
        SimHostConfig cfg = hs.config().withRealtimeAtStart(hs.config().realtimeAtStartNs() + hs.realtimeErrorNs());
        hv = SimHypervisor.create(cfg, scenario.seed());
        guestKhz = scenario.guestTscKhz().orElse(cfg.tscKhz());
        vm = (SimVm) hv.createVm(VmConfig.defaults());
        if (scenario.guestTscKhz().isPresent()) {
            vm.setTscKhz(guestKhz);
        }
        for (int i = 0; i < scenario.vcpus(); i++) {
            addVcpu();
        }
        PriorityQueue<Pending> queue = new PriorityQueue<>(Comparator.comparingLong(Pending::at).thenComparingLong(Pending::seq));
        long seq = 0;
        for (Scenario.Event e : scenario.events()) {
            queue.add(new Pending(e.atNs(), seq++, e));
        }
        long nextSample = 0;
        long end = scenario.durationNs();
        while (true) {
            long nextEvent = queue.isEmpty() ? Long.MAX_VALUE : queue.peek().at();
            long t = Math.min(nextSample, nextEvent);
            if (t > end) {
                break;
            }
            advanceTo(t);
            if (t == nextEvent) {
                Pending p = queue.poll();
                perform(p.event().action());
                if (p.event().everyNs() > 0 && p.at() + p.event().everyNs() <= end) {
                    queue.add(new Pending(p.at() + p.event().everyNs(), seq++, p.event()));
                }
            } else {
                sample();
                nextSample += scenario.sampleEveryNs();
            }
        }
        references += vm.referenceCount();
        return new Result(scenario, List.copyOf(events), List.copyOf(samples), references);
    }

    private void advanceTo(long t) {
        long now = hv.now();
        if (t > now) {
            hv.elapse(t - now);
        }
    }

    private void addVcpu() {
        SimVcpu v = (SimVcpu) vm.createVcpu(nextId++);
        v.resetToRealMode(ClockGuestAbi.CODE_GPA);
        vcpus.add(v);
        seen.add(Optional.empty());
    }

    /** Two KVM_RUNs (one TSC report) on every vCPU, noting pvclock changes as seen at the same guest TSC. */
    private void runAll() {
        for (int i = 0; i < vcpus.size(); i++) {
            SimVcpu v = vcpus.get(i);
            v.run();
            v.run();
            Optional<PvclockTimeInfo> seenNow = v.guestPvclock();
            if (seen.get(i).isPresent() && seenNow.isPresent()) {
                noteChange(v, seen.get(i).get(), seenNow.get(), i);
            }
            seen.set(i, seenNow);
        }
    }

    private void noteChange(SimVcpu v, PvclockTimeInfo old, PvclockTimeInfo now, int i) {
        if (sameFunction(old, now) || (inAction && i == 0)) {
            return;
        }
        long tsc = v.guestTsc();
        long step = now.read(tsc) - old.read(tsc);
        if (step != 0 || old.tscStable() != now.tscStable()) {
            events.add(new ClockEvent(hv.now(), "reference", v.id(), step,
                    now.tscStable() ? "new master clock reference" : "pvclock re-based without a master clock"));
        }
    }

    private static boolean sameFunction(PvclockTimeInfo a, PvclockTimeInfo b) {
        return a.tscTimestamp() == b.tscTimestamp() && a.systemTime() == b.systemTime() && a.mul() == b.mul()
                && a.shift() == b.shift();
    }

    private void sample() {
        runAll();
        long k = guestKvmclockNs();
        long off = k - hv.now();
        if (!baseSet) {
            base = off;
            baseSet = true;
        }
        samples.add(new Sample(hv.now(), off - base));
    }

    private long readGuest() {
        runAll();
        return guestKvmclockNs();
    }

    /** vCPU 0's kvmclock read; the scenario's guest enables kvmclock on its first run, so there always is one. */
    private long guestKvmclockNs() {
        return vcpus.getFirst().guestKvmclockNs().orElseThrow(
                () -> new IllegalStateException("the scenario's guest has not enabled kvmclock on vCPU 0"));
    }

    private void perform(Scenario.Action action) {
        long k0 = readGuest();
        long t0 = hv.now();
        inAction = true;
        String kind;
        String detail;
        switch (action) {
            case Scenario.Action.Hotplug h -> {
                long before = vm.referenceCount();
                addVcpu();
                kind = "hotplug";
                detail = "vCPU " + (nextId - 1) + " created";
                runAll();
                detail += vm.referenceCount() > before ? ", new master clock reference" : ", no new reference";
            }
            case Scenario.Action.TscOffsetWrite w -> {
                Vcpu v = vcpu(w.vcpu());
                v.setTscOffset(v.getTscOffset() + w.delta());
                kind = "tsc-offset-write";
                detail = "vCPU " + w.vcpu() + " offset " + (w.delta() >= 0 ? "+" : "") + w.delta();
            }
            case Scenario.Action.TscMsrWrite w -> {
                Vcpu v = vcpu(w.vcpu());
                v.setMsr(Vcpu.MSR_IA32_TSC, v.getMsr(Vcpu.MSR_IA32_TSC) + w.delta());
                kind = "tsc-msr-write";
                detail = "vCPU " + w.vcpu() + " IA32_TSC " + (w.delta() >= 0 ? "+" : "") + w.delta();
            }
            case Scenario.Action.KvmclockCtrl c -> {
                vcpus.forEach(Vcpu::kvmclockCtrl);
                kind = "kvmclock-ctrl";
                detail = "GUEST_STOPPED on every vCPU";
            }
            case Scenario.Action.RealtimeStep s -> {
                hv.simHost().stepRealtime(s.ns());
                kind = "realtime-step";
                detail = "host CLOCK_REALTIME " + s.ns() + " ns";
            }
            case Scenario.Action.RealtimeSlew s -> {
                hv.simHost().slewRealtime(s.ppb(), s.durationNs());
                kind = "realtime-slew";
                detail = "host CLOCK_REALTIME " + s.ppb() + " ppb for " + s.durationNs() + " ns";
            }
            case Scenario.Action.Kexec k -> {
                kind = "kexec";
                detail = moveGuest(k.downtimeNs(), k.restore(), Optional.empty(), k.tscKhz());
            }
            case Scenario.Action.Migrate m -> {
                kind = "migrate";
                detail = moveGuest(m.downtimeNs(), m.restore(), Optional.of(m.host()), Optional.empty());
            }
        }
        long k1 = readGuest();
        inAction = false;
        long step = (k1 - k0) - (hv.now() - t0);
        events.add(new ClockEvent(t0, kind, 0, step, detail));
    }

    private Vcpu vcpu(int id) {
        for (SimVcpu v : vcpus) {
            if (v.id() == id) {
                return v;
            }
        }
        throw new Scenario.ScenarioException("the scenario names vCPU " + id + ", which does not exist at that time");
    }

    /** What the VMM itself carries across, beside the clocks: each vCPU's registers and its kvmclock MSR. */
    private record VcpuImage(CpuState cpu, long systemTimeMsr) {}

    /**
     * Save on the source (ClockCapture, as the demo saves), pause, and restore on the destination (a kexec'd
     * kernel or another host) with the scenario's restore method; one that fails there falls back to
     * {@link Scenario.Restore#FALLBACK}.
     */
    private String moveGuest(long downtime, Scenario.Restore restore, Optional<Scenario.HostSpec> dest,
                             Optional<Long> newKhz) {
        boolean sameHost = dest.isEmpty();
        List<Vcpu> source = List.copyOf(vcpus);
        ClockState saved = ClockCapture.capture(hv, vm, source, ScenarioRunner::pvclockInMemory,
                sameHost ? CaptureKind.LIVE_UPDATE : CaptureKind.MIGRATION);
        List<VcpuImage> images = new ArrayList<>();
        for (SimVcpu v : vcpus) {
            images.add(new VcpuImage(v.saveCpuState(), v.getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW)));
        }
        long srcKhz = hv.simHost().tscKhz();
        references += vm.referenceCount();
        vcpus.clear();
        seen.clear();
        nextId = 0;

        if (sameHost) {
            hv = hv.kexec(downtime, newKhz.orElse(srcKhz), 5_000_000_000L);
        } else {
            hv.close();
            hv.elapse(downtime);
            Scenario.HostSpec hs = dest.get();
            long trueRealtime = hv.now() + SimHostConfig.DEFAULT_REALTIME_NS;
            hv = hv.peer(hs.config().withRealtimeAtStart(trueRealtime + hs.realtimeErrorNs()));
        }
        StringBuilder d = new StringBuilder();
        d.append(sameHost ? "new kernel tsc_khz " + hv.simHost().tscKhz() + (hv.simHost().tscKhz() == srcKhz ? " (kept)" : " (was " + srcKhz + ")")
                : "to " + hv.simHost().config().name() + " (" + hv.simHost().tscKhz() + " kHz)");
        d.append(", downtime ").append(downtime).append(" ns, restore ").append(restore.label());
        if (!restore.label().equals(restore.method())) {
            d.append(" (").append(restore.method()).append(")");
        }
        RestoreMethod method = RestoreMethods.byName(restore.method(), DowntimePolicy.ADVANCE);
        RestoreReport report;
        try {
            report = restoreInto(method, saved, images);
        } catch (UnsupportedMethodException | RestoreFailedException | HvException e) {
            if (method.equals(Scenario.Restore.FALLBACK)) {
                throw new Scenario.ScenarioException("restore " + method.name() + " failed on "
                        + hv.simHost().config().name() + ": " + e.getMessage());
            }
            d.append(" (").append(method.name()).append(": ").append(e.getMessage())
                    .append("; fell back to ").append(Scenario.Restore.FALLBACK.name()).append(")");
            references += vm.referenceCount();
            vm.close();
            report = restoreInto(Scenario.Restore.FALLBACK, saved, images);
        }
        for (String note : report.notes()) {
            d.append("; ").append(note);
        }
        // the VMM's resume step (QEMU's kvmclock_vm_state_change): the guest is told it was stopped
        vcpus.forEach(Vcpu::kvmclockCtrl);
        return d.toString();
    }

    /**
     * A fresh VM on {@code hv} holding the guest's vCPUs, restored with {@code method}; it becomes the runner's VM.
     * The method's lifecycle is the demo's (DemoRunner.prepare): a method that prepares gets its vCPUs and its
     * {@link RestoreMethod#prepare} before the guest's state arrives; the others get
     * {@link RestoreMethod#beforeVcpus} with the saved state, then their vCPUs. The destination kernel exists only
     * once the scenario has kexec'd or migrated, so here the preparation falls inside the blackout.
     */
    private RestoreReport restoreInto(RestoreMethod method, ClockState saved, List<VcpuImage> images) {
        vcpus.clear();
        seen.clear();
        nextId = 0;
        vm = (SimVm) hv.createVm(VmConfig.defaults());
        if (!method.preparesBeforeBlackout()) {
            method.beforeVcpus(hv, vm, saved);
            images.forEach(image -> load(addRestoredVcpu(), image));
            return method.restore(new RestoreTarget(hv, vm, List.copyOf(vcpus)), saved);
        }
        images.forEach(image -> addRestoredVcpu());
        RestoreTarget prepared = method.prepare(new RestoreTarget(hv, vm, List.copyOf(vcpus)));
        for (int i = 0; i < images.size(); i++) {
            load(vcpus.get(i), images.get(i));
        }
        return method.restore(prepared, saved);
    }

    private SimVcpu addRestoredVcpu() {
        SimVcpu v = (SimVcpu) vm.createVcpu(nextId++);
        vcpus.add(v);
        seen.add(Optional.empty());
        return v;
    }

    /** The guest's registers and kvmclock MSR into a vCPU that has not run. */
    private static void load(SimVcpu v, VcpuImage image) {
        v.restoreCpuState(image.cpu());
        v.setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, image.systemTimeMsr());
    }

    /** The pvclock the guest sees in its memory (all zero before it enabled kvmclock), as a VMM reads it. */
    private static PvclockTimeInfo pvclockInMemory(Vcpu v) {
        return ((SimVcpu) v).guestPvclock().orElseGet(() -> PvclockTimeInfo.decode(new byte[PvclockTimeInfo.SIZE]));
    }
}
