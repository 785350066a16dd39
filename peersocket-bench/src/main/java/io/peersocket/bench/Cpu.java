package io.peersocket.bench;

import java.lang.management.ManagementFactory;

/** CPU time used by this whole process (all threads, both ends of every benchmark). */
final class Cpu {
    private static final java.lang.management.OperatingSystemMXBean OS = ManagementFactory.getOperatingSystemMXBean();

    private Cpu() {}

    /** Process CPU time in ns, or -1 if the JVM cannot tell. */
    static long processNs() {
        return OS instanceof com.sun.management.OperatingSystemMXBean os ? os.getProcessCpuTime() : -1;
    }

    /** Cores kept busy on average between two readings ({@code cpu*} from {@link #processNs()}), or NaN. */
    static double cores(long cpuStart, long cpuEnd, long wallStart, long wallEnd) {
        if (cpuStart < 0 || cpuEnd < 0 || wallEnd <= wallStart) return Double.NaN;
        return (cpuEnd - cpuStart) / (double) (wallEnd - wallStart);
    }
}
