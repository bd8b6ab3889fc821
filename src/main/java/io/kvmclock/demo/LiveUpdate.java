package io.kvmclock.demo;

import io.kvmclock.files.AtomicFiles;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Boost;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.StateFile;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;

/**
 * A VMM live update as it really happens: the old process runs the guest with its memory in a shared file,
 * pauses it and hands over; a new process maps the same memory, restores the clocks and resumes the same
 * guest. The hand-over directory holds three files, each written atomically:
 * <ul>
 *   <li>{@code clock.kvmclk}: the {@link ClockState} (the project's versioned format);</li>
 *   <li>{@code cpu.snapshot}: the paused vCPU (registers and the kvmclock MSR), without memory;</li>
 *   <li>{@code handoff.properties}: the memory file and size, and the guest's last kvmclock reading.</li>
 * </ul>
 */
public final class LiveUpdate {
    private LiveUpdate() {}

    public static final String STATE = "clock.kvmclk";
    public static final String CPU = "cpu.snapshot";
    public static final String HANDOFF = "handoff.properties";

    /** The old VMM's side: boot the guest on shared memory, let it run, pause it and write the hand-over. */
    public static ClockGuest handOver(Hypervisor hv, Path dir, Path memoryFile, long runNs) throws IOException {
        VmConfig config = new VmConfig(VmConfig.DEFAULT_MEMORY, Optional.of(memoryFile));
        ClockGuest guest = ClockGuest.boot(hv.createVm(config));
        guest.readTsc();
        hv.elapse(runNs);
        long tLast = guest.readTsc();
        PvclockTimeInfo p = guest.readPvclock();
        ClockState saved = ClockCapture.capture(hv, guest.vm(), java.util.List.of(guest.vcpu()), v -> guest.readPvclock(),
                CaptureKind.LIVE_UPDATE);
        ClockGuest.Snapshot snap = guest.pause(false);
        Files.createDirectories(dir);
        StateFile.write(dir.resolve(STATE), saved);
        AtomicFiles.write(dir.resolve(CPU), snap.toBytes());
        Properties props = new Properties();
        props.setProperty("memoryFile", memoryFile.toAbsolutePath().toString());
        props.setProperty("memoryBytes", Long.toString(config.memoryBytes()));
        props.setProperty("lastKvmclockNs", Long.toUnsignedString(p.read(tLast)));
        StringWriter w = new StringWriter();
        props.store(w, "kvmclock live-update hand-over");
        AtomicFiles.write(dir.resolve(HANDOFF), w.toString().getBytes(StandardCharsets.UTF_8));
        return guest;
    }

    /**
     * Runs {@code updates} live updates of a scratch clock guest with {@code method}, so that the code a
     * take-over runs is loaded and compiled before the real guest's blackout begins.
     */
    public static void warmUp(Hypervisor hv, RestoreMethod method, int updates) {
        new DemoRunner(hv, updates, 0, (m, i, n) -> { }).runMethod(method);
    }

    /**
     * The new VMM's side before the blackout: a VM on the guest's memory file (the same shared pages the old
     * process runs the guest on), its vCPU, and the method's preparation.
     */
    public static DemoRunner.Prepared prepareTakeOver(Hypervisor hv, Path memoryFile, RestoreMethod method) {
        return DemoRunner.prepare(hv, method, new VmConfig(VmConfig.DEFAULT_MEMORY, Optional.of(memoryFile)));
    }

    /**
     * The new VMM's side while it waits for the hand-over: rehearses on the prepared destination until
     * {@code handedOver} says the old process has paused the guest, so that the restore then runs on hot code
     * and caches rather than after a sleep.
     */
    public static void rehearseUntil(DemoRunner.Prepared prepared, RestoreMethod method, java.util.function.BooleanSupplier handedOver) {
        while (!handedOver.getAsBoolean()) {
            method.rehearse(prepared.target());
            Thread.onSpinWait();
        }
    }

    /** The new VMM's side: map the same memory, restore the clocks with {@code method}, resume and measure. */
    public static DemoRunner.Restored takeOver(Hypervisor hv, Path dir, RestoreMethod method) throws IOException {
        Properties props = handOff(dir);
        return takeOver(prepareTakeOver(hv, Path.of(required(props, "memoryFile")), method), dir, method);
    }

    /** As {@link #takeOver(Hypervisor, Path, RestoreMethod)} into a destination prepared before the blackout. */
    public static DemoRunner.Restored takeOver(DemoRunner.Prepared prepared, Path dir, RestoreMethod method) throws IOException {
        Vm vm = prepared.target().vm();
        try {
            Properties props = handOff(dir);
            long bytes = Long.parseLong(required(props, "memoryBytes"));
            if (bytes != vm.memory().size()) {
                throw new IOException(HANDOFF + " says the guest has " + bytes + " bytes of memory, the prepared VM "
                        + vm.memory().size() + ": not the hand-over this process was prepared for");
            }
            long kLast = Long.parseUnsignedLong(required(props, "lastKvmclockNs"));
            ClockState saved = StateFile.read(dir.resolve(STATE));
            ClockGuest.Snapshot snap = ClockGuest.Snapshot.fromBytes(Files.readAllBytes(dir.resolve(CPU)));
            DemoRunner.Restored r;
            try (Boost boost = prepared.target().hypervisor().boostCurrentThread()) {
                ClockGuest guest = ClockGuest.resume(vm, prepared.target().vcpus().getFirst(), snap);
                r = DemoRunner.restoreAndMeasure(prepared.target(), method, saved, kLast, guest);
            }
            return new DemoRunner.Restored(r.result().withPreparation(prepared.ns(), prepared.target().prepared().phases()), r.report());
        } finally {
            vm.close();
        }
    }

    private static Properties handOff(Path dir) throws IOException {
        Properties props = new Properties();
        props.load(new StringReader(Files.readString(dir.resolve(HANDOFF))));
        return props;
    }

    private static String required(Properties p, String key) throws IOException {
        String v = p.getProperty(key);
        if (v == null) {
            throw new IOException(HANDOFF + " has no " + key + ": not a complete hand-over");
        }
        return v;
    }
}
