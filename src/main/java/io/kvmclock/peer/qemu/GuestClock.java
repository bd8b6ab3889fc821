package io.kvmclock.peer.qemu;

import io.kvmclock.peer.qemu.Firmware.Gap;
import io.kvmclock.peer.qemu.Firmware.Header;
import io.kvmclock.peer.qemu.Firmware.Sample;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** The host side of the firmware's protocol ({@link Firmware}): consistent heartbeats and the gap events. */
public final class GuestClock {
    private static final int MAX_RETRIES = 10_000;

    private final GuestRam ram;

    public GuestClock(GuestRam ram) {
        this.ram = ram;
    }

    public GuestRam ram() {
        return ram;
    }

    /** A heartbeat read while the guest was not writing it, with the host's CLOCK_MONOTONIC around the read. */
    public record Beat(long hostNs, long seq, long eventCount, Sample sample) {}

    /**
     * The header with a heartbeat the guest was not in the middle of writing (its sequence even and the same
     * just after), and the host time of the read (midway between before and after it).
     */
    public Beat beat() throws IOException {
        for (int i = 0; i < MAX_RETRIES; i++) {
            long t0 = System.nanoTime();
            byte[] h = ram.read(Firmware.HEADER_GPA, Firmware.HEADER_SIZE);
            long seqAfter = u32(ram.read(Firmware.HEADER_GPA + Firmware.OFF_HEARTBEAT_SEQ, 4), 0);
            long t1 = System.nanoTime();
            Header hd = Header.decode(h);
            if (hd.ready() && (hd.heartbeatSeq() & 1) == 0 && hd.heartbeatSeq() == seqAfter) {
                return new Beat(t0 + (t1 - t0) / 2, hd.heartbeatSeq(), hd.eventCount(), hd.heartbeat());
            }
            Thread.onSpinWait();
        }
        throw QemuException.failure("the guest's heartbeat never read consistently (" + MAX_RETRIES + " tries)");
    }

    /**
     * The gap events numbered {@code from} (inclusive) to {@code to} (exclusive); only the last
     * {@link Firmware#EVENT_SLOTS} are still in the ring.
     */
    public List<Gap> gaps(long from, long to) throws IOException {
        long first = Math.max(from, to - Firmware.EVENT_SLOTS);
        List<Gap> out = new ArrayList<>();
        for (long i = first; i < to; i++) {
            int slot = (int) (i % Firmware.EVENT_SLOTS);
            out.add(Gap.decode(i, ram.read(Firmware.EVENTS_GPA + (long) slot * Firmware.EVENT_SIZE, Firmware.EVENT_SIZE)));
        }
        return out;
    }

    /** Waits until the guest has taken a heartbeat after {@code seq}: it is running. */
    public Beat awaitRunning(long seq, java.time.Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Beat b;
        do {
            b = beat();
            if (b.seq() != seq) {
                return b;
            }
            Thread.onSpinWait();
        } while (System.nanoTime() < deadline);
        throw QemuException.failure("the guest did not run again within " + timeout.toMillis() + " ms");
    }

    static long u32(byte[] b, int at) {
        return Integer.toUnsignedLong(ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getInt(at));
    }
}
