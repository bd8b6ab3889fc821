package io.kvmclock.state;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Reads and writes clock-state files. Writes are atomic: the bytes go to a temporary file in the same
 * directory, are forced to disk, and the temporary file is renamed over the target with ATOMIC_MOVE, after
 * which the directory is forced too. A reader sees the old file or the new one, never a mix; when anything
 * fails the old file is left as it was and the temporary file is removed.
 */
public final class StateFile {

    /** The steps of a write, replaceable so tests can make each one fail. */
    interface Io {
        void write(FileChannel ch, ByteBuffer data) throws IOException;

        void force(FileChannel ch) throws IOException;

        void move(Path from, Path to) throws IOException;
    }

    static final Io REAL = new Io() {
        @Override
        public void write(FileChannel ch, ByteBuffer data) throws IOException {
            while (data.hasRemaining()) {
                ch.write(data);
            }
        }

        @Override
        public void force(FileChannel ch) throws IOException {
            ch.force(true);
        }

        @Override
        public void move(Path from, Path to) throws IOException {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        }
    };

    /** Larger than this is not a state file; reading stops before it allocates. */
    static final long MAX_FILE = StateFormat.HEADER_SIZE + (long) StateFormat.MAX_PAYLOAD + 1;

    private StateFile() {}

    /** Reads and validates {@code file}; a missing file is a {@link NoSuchFileException}. */
    public static ClockState read(Path file) throws IOException {
        return StateFormat.decode(readBytes(file));
    }

    static byte[] readBytes(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE) {
                // Let the header say what it is (wrong magic, or a payload declared too large) from its first bytes.
                ByteBuffer head = ByteBuffer.allocate(StateFormat.HEADER_SIZE);
                while (head.hasRemaining() && ch.read(head) >= 0) {
                    // fill
                }
                StateFormat.header(head.array());
                throw new StateFormatException(StateFormatException.Reason.TOO_LARGE,
                        "the file is " + size + " bytes, larger than any clock state (" + MAX_FILE + ")");
            }
            return Files.readAllBytes(file);
        }
    }

    /** Writes {@code state} at the current format, atomically. */
    public static void write(Path file, ClockState state) throws IOException {
        writeBytes(file, StateFormat.encode(state), REAL);
    }

    /** Writes bytes already produced by {@link StateFormat#encode(ClockState, FormatVersion)}, atomically. */
    public static void writeEncoded(Path file, byte[] bytes) throws IOException {
        writeBytes(file, bytes, REAL);
    }

    /** Writes already-encoded bytes atomically through {@code io}. */
    static void writeBytes(Path file, byte[] bytes, Io io) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                io.write(ch, ByteBuffer.wrap(bytes));
                io.force(ch);
            }
            try {
                io.move(tmp, target);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + target + " atomically on this file system: " + e.getMessage(), e);
            }
            moved = true;
            forceDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /** After a rename, the directory entry is durable only once the directory itself is forced (fsync on Linux). */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some file systems refuse fsync on a directory; the rename itself has already happened atomically.
        }
    }
}
