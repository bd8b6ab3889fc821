package io.kvmclock.sim;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.TscScaling;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The model's {@link Hypervisor}: one host kernel with KVM on a deterministic time line. Hosts made with
 * {@link #peer} share the time line (a migration source and destination); {@link #kexec} boots a new
 * kernel on the same hardware (a live update), ending every VM of this one.
 */
public final class SimHypervisor implements Hypervisor {
    /** KVM_CAP_ADJUST_CLOCK on 6.18: TSC_STABLE | REALTIME | HOST_TSC. */
    public static final int ADJUST_CLOCK_FLAGS = 14;

    final SimHost host;
    private final int bootNumber;
    private final List<SimVm> vms = new ArrayList<>();
    private boolean closed;

    private SimHypervisor(SimHost host, int bootNumber) {
        this.host = host;
        this.bootNumber = bootNumber;
    }

    /** A new time line starting at 0 with one host; everything random derives from {@code seed}. */
    public static SimHypervisor create(SimHostConfig config, long seed) {
        return new SimHypervisor(new SimHost(new SimWorld(seed), config), 0);
    }

    public static SimHypervisor create() {
        return create(SimHostConfig.typical(), 0);
    }

    /** Another host on the same time line, joining now (the destination of a migration). */
    public SimHypervisor peer(SimHostConfig config) {
        return new SimHypervisor(new SimHost(host.world, config), 0);
    }

    /**
     * A host built like this one but with a TSC at {@code tscKhz} (true rate equal), its TSC elsewhere and its
     * CLOCK_REALTIME in sync with this host's now: a migration destination at another TSC rate.
     */
    public SimHypervisor peerAt(long tscKhz) {
        return peer(host.config.withName(host.config.name() + "-peer-" + tscKhz).withTsc(tscKhz, tscKhz * 1000)
                .withTscAtStart(7_000_000_000_000L).withRealtimeAtStart(host.realtimeNs()));
    }

    /**
     * kexec into a new kernel: every VM ends, {@code downtimeNs} pass, the TSC kept counting; the new kernel
     * calibrates {@code newTscKhz} (pass {@code host().tscKhz()} to model keeping the old value) and its raw
     * clock starts again from {@code rawAfterBootNs}.
     */
    public SimHypervisor kexec(long downtimeNs, long newTscKhz, long rawAfterBootNs) {
        close();
        host.world.advance(downtimeNs);
        host.boot(newTscKhz, rawAfterBootNs);
        return new SimHypervisor(host, bootNumber + 1);
    }

    public SimHost simHost() {
        return host;
    }

    /** The true time line, ns. */
    public long now() {
        return host.world.now();
    }

    @Override
    public String backend() {
        return "sim";
    }

    @Override
    public HostInfo host() {
        return new HostInfo(host.config.kernel(), 12, host.tscKhz(), host.config.tscClocksource() ? "tsc" : "hpet",
                host.config.name() + "-boot" + bootNumber);
    }

    @Override
    public Optional<TscScaling> tscScaling() {
        return host.config.tscScaling();
    }

    @Override
    public ClockCapabilities capabilities() {
        SimHostConfig c = host.config;
        return new ClockCapabilities(ADJUST_CLOCK_FLAGS, c.tscScaling().isPresent(), c.vmTscControl(), true, true,
                c.clockGuest());
    }

    @Override
    public Vm createVm(VmConfig config) {
        checkOpen("KVM_CREATE_VM");
        latency("KVM_CREATE_VM");
        SimVm vm = new SimVm(this, config);
        vms.add(vm);
        return vm;
    }

    @Override
    public void elapse(long nanos) {
        host.world.advance(nanos);
    }

    @Override
    public HostClocks readHostClocks() {
        return host.readClocks();
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            for (SimVm vm : List.copyOf(vms)) {
                vm.close();
            }
        }
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen(String call) {
        if (closed) {
            throw new HvException(call, Errno.EBADF.number(), "this model host was closed or kexec'd");
        }
    }

    void latency(String call) {
        charge(host.config.latency().of(call));
    }

    /** Advances the time line by a draw of {@code d}, counted as time spent in the (modelled) kernel. */
    void charge(Distribution d) {
        charge(host.world.draw(d));
    }

    /** Advances the time line by {@code ns}, counted as time spent in the (modelled) kernel. */
    void charge(long ns) {
        chargedNs += ns;
        host.world.advance(ns);
    }

    private long chargedNs;

    @Override
    public long ioctlNanos() {
        return chargedNs;
    }
}
