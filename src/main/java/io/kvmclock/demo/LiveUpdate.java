package io.kvmclock.demo;

import io.kvmclock.files.AtomicFiles;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Boost;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.restore.ClockCapture;
import io.kvmclock.restore.RestoreMethod;
import io.kvmclock.restore.Saved;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.Placement;
import io.kvmclock.state.StateFormat;
import io.kvmclock.state.StateFormatException;
import io.kvmclock.time.PvclockTimeInfo;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A VMM live update as it really happens: the old process runs the guest with its memory in a shared file,
 * pauses it and hands over; a new process maps the same memory, restores the clocks and resumes the same
 * guest. The hand-over directory holds three files, written as a unit ({@link AtomicFiles#writeFolder}):
 * <ul>
 *   <li>{@code clock.kvmclk}: the {@link ClockState} (the project's versioned format);</li>
 *   <li>{@code cpu.snapshot}: the paused vCPU (registers and the kvmclock MSR), without memory;</li>
 *   <li>{@code handoff.properties}: the memory file and size, and the guest's last kvmclock reading.</li>
 * </ul>
 * Until the new process commits (just before its first KVM_RUN) the old one still holds the paused guest in
 * its own VM, so a failed take-over is rolled back there ({@link #rollBack}); docs/faults.md.
 */
public final class LiveUpdate {
    private LiveUpdate() {}

    public static final String STATE = "clock.kvmclk";
    public static final String CPU = "cpu.snapshot";
    public static final String HANDOFF = "handoff.properties";
    /** Every file a hand-over folder holds. */
    public static final Set<String> FILES = Set.of(STATE, CPU, HANDOFF);
    /** Temp folders and /dev/shm files of a live update start with this, then the owner's pid. */
    public static final String PREFIX = "kvmclock-live-update-";
    /** The largest guest memory a hand-over may name. */
    static final long MAX_MEMORY = 1L << 30;
    /** No hand-over file is larger than this (the state's own limit aside). */
    static final int MAX_SMALL_FILE = 64 << 10;

    /** The /dev/shm file that holds the guest memory of the live update run by {@code pid}. */
    public static Path memoryFile(Path shm, long pid) {
        return shm.resolve(PREFIX + pid + ".mem");
    }

    /**
     * Creates the shared memory file and writes every byte of it, so that a full or read-only /dev/shm is an
     * IOException here, not a SIGBUS when KVM or the guest first touches a page the tmpfs cannot back.
     */
    public static void prepareMemory(Path file, long bytes) throws IOException {
        boolean made = false;
        try (FileChannel ch = FileChannel.open(file, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))) {
            made = true;
            ByteBuffer zeros = ByteBuffer.allocate(64 << 10);
            for (long done = 0; done < bytes; ) {
                zeros.clear().limit((int) Math.min(zeros.capacity(), bytes - done));
                while (zeros.hasRemaining()) {
                    done += ch.write(zeros);
                }
            }
            ch.force(true);
        } catch (IOException e) {
            if (made || !(e instanceof FileAlreadyExistsException)) {
                Files.deleteIfExists(file);
            }
            throw e;
        }
    }

    /** What the old process holds after the pause: the guest, still in its VM, and what it handed over. */
    public record Paused(ClockGuest guest, ClockGuest.Snapshot snapshot, ClockState saved, long lastKvmclockNs,
                         long lastRunRawNs) {}

    /** The old VMM's side: boot the guest on shared memory, let it run, pause it and write the hand-over. */
    public static Paused handOver(Hypervisor hv, Path dir, Path memoryFile, long runNs) throws IOException {
        VmConfig config = new VmConfig(VmConfig.DEFAULT_MEMORY, Optional.of(memoryFile));
        ClockGuest guest = ClockGuest.boot(hv.createVm(config));
        try {
            guest.readTsc();
            hv.elapse(runNs);
            long tLast = guest.readTsc();
            long lastRun = hv.monotonicRawNs();
            PvclockTimeInfo p = guest.readPvclock();
            ClockState saved = ClockCapture.capture(hv, guest.vm(), List.of(guest.vcpu()), v -> guest.readPvclock(),
                    CaptureKind.LIVE_UPDATE);
            ClockGuest.Snapshot snap = guest.pause(false);
            long kLast = p.read(tLast);
            Properties props = new Properties();
            props.setProperty("memoryFile", memoryFile.toAbsolutePath().toString());
            props.setProperty("memoryBytes", Long.toString(config.memoryBytes()));
            props.setProperty("lastKvmclockNs", Long.toUnsignedString(kLast));
            StringWriter w = new StringWriter();
            props.store(w, "kvmclock live-update hand-over");
            Map<String, byte[]> files = new LinkedHashMap<>();
            files.put(STATE, StateFormat.encode(saved));
            files.put(CPU, snap.toBytes());
            files.put(HANDOFF, w.toString().getBytes(StandardCharsets.UTF_8));
            AtomicFiles.writeFolder(dir, files);
            return new Paused(guest, snap, saved, kLast, lastRun);
        } catch (IOException | RuntimeException e) {
            guest.vm().close();
            throw e;
        }
    }

    /**
     * Runs {@code updates} live updates of a scratch clock guest with {@code method}, so that the code a
     * take-over runs is loaded and compiled before the real guest's blackout begins.
     */
    public static void warmUp(Hypervisor hv, RestoreMethod method, int updates) {
        new DemoRunner(hv, updates, 0, (m, i, n) -> { }).runMethod(method);
    }

    /** A hand-over read back and checked. */
    public record HandOver(Path memoryFile, long memoryBytes, long lastKvmclockNs, ClockState saved,
                           ClockGuest.Snapshot cpu) {}

    /** A hand-over that cannot be used; the reason says which part, the message names the field. */
    public static final class HandOverException extends IOException {
        public enum Reason { MISSING_FILE, TOO_LARGE, BAD_PROPERTIES, MISSING_KEY, BAD_NUMBER, BAD_MEMORY_FILE, BAD_SNAPSHOT, BAD_STATE }

        private final Reason reason;

        public HandOverException(Reason reason, String message) {
            super(message);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    /** Reads and checks the hand-over in {@code dir}. */
    public static HandOver read(Path dir) throws IOException {
        return decode(readSmall(dir.resolve(HANDOFF), MAX_SMALL_FILE), readSmall(dir.resolve(CPU), MAX_SMALL_FILE),
                readSmall(dir.resolve(STATE), StateFormat.HEADER_SIZE + StateFormat.MAX_PAYLOAD));
    }

    private static byte[] readSmall(Path f, int max) throws IOException {
        if (!Files.isRegularFile(f)) {
            throw new HandOverException(HandOverException.Reason.MISSING_FILE, f + " is missing or not a regular file");
        }
        try (InputStream in = Files.newInputStream(f)) {
            byte[] b = in.readNBytes(max + 1);
            if (b.length > max) {
                throw new HandOverException(HandOverException.Reason.TOO_LARGE, f + " is over " + max + " bytes");
            }
            return b;
        } catch (NoSuchFileException e) {
            throw new HandOverException(HandOverException.Reason.MISSING_FILE, f + " is missing");
        }
    }

    private static final Pattern DIGITS = Pattern.compile("[0-9]{1,20}");

    /** Checks the three files of a hand-over from their bytes: every bad input is a {@link HandOverException}. */
    public static HandOver decode(byte[] handoff, byte[] cpu, byte[] state) throws HandOverException {
        Properties props = new Properties();
        try {
            CharBuffer text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(handoff));
            props.load(new StringReader(text.toString()));
        } catch (CharacterCodingException e) {
            throw new HandOverException(HandOverException.Reason.BAD_PROPERTIES, HANDOFF + " is not UTF-8 text");
        } catch (IOException | IllegalArgumentException e) {
            throw new HandOverException(HandOverException.Reason.BAD_PROPERTIES, HANDOFF + " is not a properties file: "
                    + e.getMessage());
        }
        String mem = required(props, "memoryFile");
        Path memory;
        try {
            memory = Path.of(mem);
        } catch (InvalidPathException e) {
            throw new HandOverException(HandOverException.Reason.BAD_MEMORY_FILE, HANDOFF + ": memoryFile is not a path");
        }
        if (!memory.isAbsolute() || memory.getFileName() == null) {
            throw new HandOverException(HandOverException.Reason.BAD_MEMORY_FILE, HANDOFF + ": memoryFile must be an absolute file path");
        }
        long bytes = number(props, "memoryBytes");
        if (bytes <= 0 || bytes % 4096 != 0 || bytes > MAX_MEMORY) {
            throw new HandOverException(HandOverException.Reason.BAD_NUMBER, HANDOFF + ": memoryBytes " + bytes
                    + " is not a positive multiple of 4096 up to " + MAX_MEMORY);
        }
        long kLast = number(props, "lastKvmclockNs");
        ClockGuest.Snapshot snap;
        try {
            snap = ClockGuest.Snapshot.fromBytes(cpu);
        } catch (IllegalArgumentException e) {
            throw new HandOverException(HandOverException.Reason.BAD_SNAPSHOT, CPU + ": " + e.getMessage());
        }
        if (snap.memory().length != 0) {
            throw new HandOverException(HandOverException.Reason.BAD_SNAPSHOT, CPU + " holds guest memory: a live update"
                    + " keeps it in the shared file");
        }
        ClockState saved;
        try {
            saved = StateFormat.decode(state);
        } catch (StateFormatException e) {
            throw new HandOverException(HandOverException.Reason.BAD_STATE, STATE + ": " + e.getMessage());
        }
        return new HandOver(memory, bytes, kLast, saved, snap);
    }

    private static String required(Properties p, String key) throws HandOverException {
        String v = p.getProperty(key);
        if (v == null) {
            throw new HandOverException(HandOverException.Reason.MISSING_KEY, HANDOFF + " has no " + key + ": not a complete hand-over");
        }
        return v;
    }

    /** An unsigned decimal in ASCII digits (Long.parseUnsignedLong alone would take other scripts' digits). */
    private static long number(Properties p, String key) throws HandOverException {
        String v = required(p, key).trim();
        try {
            if (!DIGITS.matcher(v).matches()) {
                throw new NumberFormatException();
            }
            return Long.parseUnsignedLong(v);
        } catch (NumberFormatException e) {
            throw new HandOverException(HandOverException.Reason.BAD_NUMBER, HANDOFF + ": " + key + " is not an unsigned decimal");
        }
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
    public static void rehearseUntil(DemoRunner.Prepared prepared, RestoreMethod method, BooleanSupplier handedOver) {
        while (!handedOver.getAsBoolean()) {
            method.rehearse(prepared.target());
            Thread.onSpinWait();
        }
    }

    /**
     * As {@link #takeOver(Hypervisor, HandOver, RestoreMethod, Runnable)} into a destination prepared before the
     * blackout on the memory file the hand-over names; the blackout's restore runs at real-time priority.
     */
    public static DemoRunner.Restored takeOver(DemoRunner.Prepared prepared, HandOver h, RestoreMethod method, Runnable commit)
            throws HandOverException {
        Vm vm = prepared.target().vm();
        try {
            if (h.memoryBytes() != vm.memory().size()) {
                throw new HandOverException(HandOverException.Reason.BAD_MEMORY_FILE, HANDOFF + " says the guest has "
                        + h.memoryBytes() + " bytes of memory, the prepared VM " + vm.memory().size()
                        + ": not the hand-over this process was prepared for");
            }
            DemoRunner.Restored r;
            try (Boost boost = prepared.target().hypervisor().boostCurrentThread()) {
                ClockGuest guest = ClockGuest.resume(vm, prepared.target().vcpus().getFirst(), h.cpu());
                r = DemoRunner.restoreAndMeasure(prepared.target(), method, h.saved(), h.lastKvmclockNs(), guest,
                        Placement.Kind.SAME_BOOT, commit);
            }
            return new DemoRunner.Restored(r.result().withPreparation(prepared.ns(), prepared.target().prepared().phases()),
                    r.report());
        } finally {
            vm.close();
        }
    }

    /**
     * The new VMM's side: map the same memory, restore the clocks with {@code method}, then {@code commit}
     * (the last moment a failure can still be rolled back by the old process), resume and measure.
     */
    public static DemoRunner.Restored takeOver(Hypervisor hv, HandOver h, RestoreMethod method, Runnable commit) {
        Vm vm = hv.createVm(new VmConfig(h.memoryBytes(), Optional.of(h.memoryFile())));
        try {
            ClockGuest guest = ClockGuest.resume(vm, DemoRunner.createVcpu(hv, vm, method, h.saved()), h.cpu());
            return DemoRunner.restoreAndMeasure(hv, method, h.saved(), h.lastKvmclockNs(), guest, Placement.Kind.SAME_BOOT, commit);
        } finally {
            vm.close();
        }
    }

    /**
     * The guest resumed by the old process after a failed take-over: {@code stepNs} is its first kvmclock
     * reading minus its last before the pause (negative = it stepped back), {@code kvmclockErrorNs} that
     * reading minus the saved function at the same TSC (0 = the same clock as before), {@code blackoutNs}
     * the host time (CLOCK_MONOTONIC_RAW) from the guest's last run before the pause to its first after, read
     * beside the guest's TSC reads, not with them (so it says how long the guest was stopped, to a millisecond).
     * The continuity itself is {@code kvmclockErrorNs}: exact, from the same guest TSC.
     */
    public record Rollback(long stepNs, long kvmclockErrorNs, long blackoutNs, boolean steppedBackwards) {}

    /** The old VMM's side when the new one failed before it committed: resume the paused guest here. */
    public static Rollback rollBack(Hypervisor hv, Paused p) {
        ClockGuest g = p.guest();
        // The new process may have left its own pvclock in the shared page. Rewriting the kvmclock MSR with the
        // value the guest set (kvm_write_system_time) makes KVM refill the page from this VM's master clock at the
        // next entry: the same function as before the pause, no new reference.
        g.vcpu().setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, p.snapshot().systemTimeMsr());
        long t = g.readTsc();
        long raw = hv.monotonicRawNs();
        PvclockTimeInfo after = g.readPvclock();
        long k = after.read(t);
        long err = k - Saved.pvclock(p.saved(), 0).read(t);
        long step = k - p.lastKvmclockNs();
        return new Rollback(step, err, raw - p.lastRunRawNs(), step < 0);
    }

    private static final Pattern OWNED = Pattern.compile(Pattern.quote(PREFIX) + "(\\d+)(?:-.*|\\.mem)");
    private static final Pattern OLD_STYLE = Pattern.compile("kvmclock-live-update\\d+");
    private static final Pattern MEMORY_PID = Pattern.compile(".*" + Pattern.quote(PREFIX) + "(\\d+)\\.mem");

    /**
     * Removes what live updates that are no longer running left in {@code tmp} (hand-over folders) and
     * {@code shm} (guest memory): everything named for a pid that is gone; a folder of the older unnamed kind
     * when its hand-over names a gone pid, or when it is empty and over ten minutes old. Returns what it removed.
     */
    public static List<Path> sweepStale(Path tmp, Path shm) {
        List<Path> removed = new ArrayList<>();
        for (Path dir : List.of(tmp, shm)) {
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, "kvmclock-live-update*")) {
                for (Path p : s) {
                    if (stale(p)) {
                        AtomicFiles.deleteTree(p);
                        removed.add(p);
                    }
                }
            } catch (IOException e) {
                // best effort: what cannot be removed now is tried again at the next start
            }
        }
        return removed;
    }

    private static boolean stale(Path p) throws IOException {
        String name = p.getFileName().toString();
        Matcher m = OWNED.matcher(name);
        if (m.matches()) {
            return !AtomicFiles.alive(Long.parseLong(m.group(1)));
        }
        if (!OLD_STYLE.matcher(name).matches() || !Files.isDirectory(p)) {
            return false;
        }
        Path props = p.resolve(HANDOFF);
        if (Files.isRegularFile(props)) {
            Matcher pid = MEMORY_PID.matcher(Files.readString(props));
            return pid.find() && !AtomicFiles.alive(Long.parseLong(pid.group(1)));
        }
        FileTime t = Files.getLastModifiedTime(p);
        try (DirectoryStream<Path> s = Files.newDirectoryStream(p)) {
            return !s.iterator().hasNext() && t.toInstant().isBefore(Instant.now().minus(Duration.ofMinutes(10)));
        }
    }
}
