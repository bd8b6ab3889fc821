package io.kvmclock.state;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.files.AtomicFiles;
import io.kvmclock.state.StateFormatException.Reason;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Atomic writes: the target holds the old bytes or the new ones, never a mix, and no temporary file stays behind. */
class StateFileTest {

    @TempDir
    Path dir;

    private static final ClockState OLD = SampleState.create(1, AMD_KHZ, AMD_KHZ);
    private static final ClockState NEW = SampleState.create(3, 2_000_000, 2_000_000);

    /** Real steps, with one of them replaced by a failure. */
    private static AtomicFiles.Io failing(String step) {
        return new AtomicFiles.Io() {
            @Override
            public void write(FileChannel ch, ByteBuffer data) throws IOException {
                if (step.equals("write")) {
                    ByteBuffer half = data.slice(0, data.remaining() / 2);
                    ch.write(half);
                    throw new IOException("injected: disk full after half the bytes");
                }
                AtomicFiles.REAL.write(ch, data);
            }

            @Override
            public void force(FileChannel ch) throws IOException {
                if (step.equals("force")) {
                    throw new IOException("injected: fsync failed");
                }
                AtomicFiles.REAL.force(ch);
            }

            @Override
            public void move(Path from, Path to) throws IOException {
                if (step.equals("move")) {
                    throw new IOException("injected: rename failed");
                }
                AtomicFiles.REAL.move(from, to);
            }
        };
    }

    private List<Path> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    @Test
    void writesAndReadsBack() throws IOException {
        Path f = dir.resolve("guest.kvmclk");
        StateFile.write(f, OLD);
        assertEquals(OLD, StateFile.read(f));
        assertEquals(List.of(f), files());
    }

    @Test
    void replacesAnExistingFileWhole() throws IOException {
        Path f = dir.resolve("guest.kvmclk");
        StateFile.write(f, OLD);
        StateFile.write(f, NEW);
        assertEquals(NEW, StateFile.read(f));
        assertArrayEquals(StateFormat.encode(NEW), Files.readAllBytes(f));
        assertEquals(List.of(f), files());
    }

    @Test
    void aFailedWriteLeavesTheOldFileIntactAndNoTemporaryFile() throws IOException {
        for (String step : List.of("write", "force", "move")) {
            Path f = dir.resolve("guest-" + step + ".kvmclk");
            StateFile.write(f, OLD);
            byte[] before = Files.readAllBytes(f);
            IOException e = assertThrows(IOException.class,
                    () -> AtomicFiles.write(f, StateFormat.encode(NEW), failing(step)));
            assertTrue(e.getMessage().startsWith("injected"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(f), step + " failure changed the file");
            assertEquals(OLD, StateFile.read(f));
            try (Stream<Path> s = Files.list(dir)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), step + " left a temporary file");
            }
        }
    }

    @Test
    void aFailedFirstWriteLeavesNoFileAtAll() throws IOException {
        Path f = dir.resolve("new.kvmclk");
        assertThrows(IOException.class, () -> AtomicFiles.write(f, StateFormat.encode(NEW), failing("write")));
        assertEquals(List.of(), files());
    }

    @Test
    void anEncodingThatCannotBeMadeTouchesNothing() throws IOException {
        Path f = dir.resolve("guest.kvmclk");
        StateFile.write(f, OLD);
        byte[] before = Files.readAllBytes(f);
        assertThrows(IllegalArgumentException.class,
                () -> StateFile.writeEncoded(f, StateFormat.encode(NEW, new FormatVersion(2, 0))));
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(List.of(f), files());
    }

    @Test
    void missingFileIsNoSuchFile() {
        assertThrows(NoSuchFileException.class, () -> StateFile.read(dir.resolve("absent")));
    }

    @Test
    void aHugeFileIsRefusedWithoutReadingIt() throws IOException {
        Path f = dir.resolve("huge.kvmclk");
        byte[] header = StateFormat.frame(FormatVersion.CURRENT, new byte[0]);
        try (RandomAccessFile r = new RandomAccessFile(f.toFile(), "rw")) {
            r.write(header);
            r.setLength(StateFile.MAX_FILE + 1); // sparse
        }
        StateFormatException e = assertThrows(StateFormatException.class, () -> StateFile.read(f));
        assertEquals(Reason.TOO_LARGE, e.reason());
        Path notOurs = dir.resolve("huge.bin");
        try (RandomAccessFile r = new RandomAccessFile(notOurs.toFile(), "rw")) {
            r.write(new byte[] {0x7f, 'E', 'L', 'F'});
            r.setLength(StateFile.MAX_FILE + 1);
        }
        StateFormatException elf = assertThrows(StateFormatException.class, () -> StateFile.read(notOurs));
        assertEquals(Reason.BAD_MAGIC, elf.reason());
    }

    @Test
    void aDeviceIsRefusedAtOnceAndAFileThatNeverEndsStopsAtTheLimit() throws IOException {
        // /dev/zero reports size 0 and never ends: refused before a byte is read.
        assertThrows(StateFile.NotRegularFileException.class, () -> StateFile.read(Path.of("/dev/zero")));
        assertThrows(StateFile.NotRegularFileException.class, () -> StateFile.read(dir));
    }
}
