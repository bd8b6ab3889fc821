package io.kvmclock.bench;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.KvmHypervisor;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.CloudHypervisorMethod;
import io.kvmclock.restore.DowntimePolicy;
import io.kvmclock.restore.FirecrackerMethod;
import io.kvmclock.restore.PreciseMethod;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.RestoreReport;
import io.kvmclock.restore.RestoreTarget;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * One restore on real KVM, as the blackout sees it: each invocation restores a saved clock guest into a fresh
 * destination VM whose vCPU holds the guest's CPU state (made, and for {@code precisePrepared} prepared, outside
 * the timed part, as a VMM does before the source pauses). Sample mode gives the median and the tail:
 * {@code bench/run-jmh RestoreBench -wi 3 -i 5 -f 1}. The demo's JSON splits the same restores into phases
 * and the kernel's share of each; ClockIoctlBench times the single ioctls.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class RestoreBench {
    private Hypervisor hv;
    private Vm source;
    private ClockGuest.Snapshot image;
    private ClockState saved;
    private final PreciseMethod precise = new PreciseMethod(DowntimePolicy.ADVANCE);
    private final RestoreMethod cloudHypervisor = new CloudHypervisorMethod();
    private final RestoreMethod firecracker = new FirecrackerMethod(true);
    private RestoreTarget prepared;
    private RestoreTarget unprepared;

    @Setup(Level.Trial)
    public void boot() {
        hv = KvmHypervisor.open();
        source = hv.createVm(VmConfig.defaults());
        ClockGuest g = ClockGuest.boot(source);
        g.readTsc();
        saved = ClockCapture.capture(hv, source, List.of(g.vcpu()), v -> g.readPvclock(), CaptureKind.LIVE_UPDATE);
        image = g.pause(true);
    }

    @Setup(Level.Invocation)
    public void destination() {
        prepared = precise.prepare(target());
        unprepared = target();
    }

    private RestoreTarget target() {
        Vm vm = hv.createVm(VmConfig.defaults());
        RestoreTarget t = new RestoreTarget(hv, vm, List.of(vm.createVcpu(0)));
        ClockGuest.resume(vm, t.vcpus().getFirst(), image);
        return t;
    }

    @TearDown(Level.Invocation)
    public void closeDestination() {
        prepared.vm().close();
        unprepared.vm().close();
    }

    @TearDown(Level.Trial)
    public void shutDown() {
        source.close();
        hv.close();
    }

    /** precise into a destination prepared before the blackout: the restore the demo times. */
    @Benchmark
    public RestoreReport precisePrepared() {
        return precise.restore(prepared, saved);
    }

    /** precise into a bare destination: engages the master clock and serves the vCPU's requests itself. */
    @Benchmark
    public RestoreReport preciseUnprepared() {
        return precise.restore(unprepared, saved);
    }

    @Benchmark
    public RestoreReport cloudHypervisor() {
        return cloudHypervisor.restore(unprepared, saved);
    }

    @Benchmark
    public RestoreReport firecrackerRealtime() {
        return firecracker.restore(unprepared, saved);
    }

    /** KVM_RUN with a signal pending on a fresh vCPU: what serving its requests without entry costs. */
    @Benchmark
    public void serveRequests() {
        unprepared.vcpus().getFirst().serveRequests();
    }
}
