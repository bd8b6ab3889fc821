package io.kvmclock.state;

/**
 * A clock-state format version. Within one major, a minor only appends fields at the end of a record (or
 * records at the end of the payload) that an older reader may skip; anything else is a new major.
 */
public record FormatVersion(int major, int minor) implements Comparable<FormatVersion> {

    /** What this build writes, and the newest it fully understands. See {@link StateFormat} for the history. */
    public static final FormatVersion CURRENT = new FormatVersion(1, 2);

    public FormatVersion {
        if (major < 0 || major > 0xFFFF || minor < 0 || minor > 0xFFFF) {
            throw new IllegalArgumentException("format version " + major + "." + minor + " is not two u16 values");
        }
    }

    @Override
    public int compareTo(FormatVersion o) {
        return major != o.major ? Integer.compare(major, o.major) : Integer.compare(minor, o.minor);
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
