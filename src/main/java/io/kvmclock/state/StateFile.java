package io.kvmclock.state;

import io.kvmclock.files.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads and writes clock-state files. Writes go through the project's one atomic writer
 * ({@link AtomicFiles}: temp file in the same directory, fsync, rename, fsync of the directory): a reader
 * sees the old file or the new one, never a mix. Reads refuse anything but a regular file and stop at the
 * format's size limit whatever size the file system reports (a device or /proc file may report 0 and never end).
 */
public final class StateFile {

    /** Larger than this is not a state file; reading stops before it allocates. */
    static final long MAX_FILE = StateFormat.HEADER_SIZE + (long) StateFormat.MAX_PAYLOAD + 1;

    private StateFile() {}

    /** Reads and validates {@code file}; a missing file is a {@link NoSuchFileException}. */
    public static ClockState read(Path file) throws IOException {
        return StateFormat.decode(readBytes(file));
    }

    static byte[] readBytes(Path file) throws IOException {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            throw new NotRegularFileException(file);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer head = ByteBuffer.allocate(StateFormat.HEADER_SIZE);
            fill(ch, head);
            if (ch.size() > MAX_FILE) {
                // Let the header say what it is (wrong magic, or a payload declared too large) from its first bytes.
                StateFormat.header(head.array());
                throw tooLarge(ch.size() + " bytes");
            }
            ByteArrayOutputStream all = new ByteArrayOutputStream();
            all.write(head.array(), 0, head.position());
            ByteBuffer chunk = ByteBuffer.allocate(64 << 10);
            while (fill(ch, chunk) > 0) {
                all.write(chunk.array(), 0, chunk.position());
                if (all.size() > MAX_FILE) {
                    StateFormat.header(all.toByteArray());
                    throw tooLarge("more than " + MAX_FILE + " bytes");
                }
                chunk.clear();
            }
            return all.toByteArray();
        }
    }

    private static StateFormatException tooLarge(String what) {
        return new StateFormatException(StateFormatException.Reason.TOO_LARGE,
                "the file is " + what + ", larger than any clock state (" + MAX_FILE + ")");
    }

    /** Reads until {@code b} is full or the file ends; returns the bytes read. */
    private static int fill(FileChannel ch, ByteBuffer b) throws IOException {
        int n = 0;
        while (b.hasRemaining()) {
            int r = ch.read(b);
            if (r < 0) {
                break;
            }
            n += r;
        }
        return n;
    }

    /** A path that exists but is a device, a pipe, a socket or a folder: never read as a state file. */
    public static final class NotRegularFileException extends IOException {
        public NotRegularFileException(Path file) {
            super(file + " is " + (Files.isDirectory(file) ? "a directory" : "not a regular file (a device, pipe or socket)")
                    + ", not a clock state file");
        }
    }

    /** Writes {@code state} at the current format, atomically. */
    public static void write(Path file, ClockState state) throws IOException {
        AtomicFiles.write(file, StateFormat.encode(state));
    }

    /** Writes bytes already produced by {@link StateFormat#encode(ClockState, FormatVersion)}, atomically. */
    public static void writeEncoded(Path file, byte[] bytes) throws IOException {
        AtomicFiles.write(file, bytes);
    }
}
