package io.peersocket.sim;

/**
 * A snapshot of a simulation's progress and cost ({@link Simulator#stats()}).
 *
 * @param nodes nodes in the simulation
 * @param alive nodes not crashed
 * @param virtualMs virtual time since the start, ms
 * @param tasksRun event-loop tasks run (deliveries, timers, protocol work) — the "events" of the simulation
 * @param wallMs real time spent running the loop, ms
 * @param cpuMs CPU time of the driving thread while running the loop, ms (unlike wall time, not inflated when
 *     other processes compete for the cores; excludes GC threads)
 * @param sends link-model consultations (stream events, datagrams and dials across the network)
 * @param datagramsSent datagrams handed to the network (including lost ones)
 * @param datagramsLost datagrams dropped by loss or unreachability
 * @param connections established connections (each counted once)
 * @param failedTasks loop tasks that threw (logged)
 * @param foreignSubmissions loop submissions from other threads (determinism leaks; 0 in a sound run)
 */
public record SimStats(int nodes, int alive, long virtualMs, long tasksRun, long wallMs, long cpuMs, long sends,
                       long datagramsSent, long datagramsLost, int connections, long failedTasks,
                       long foreignSubmissions) {

    /** Tasks per second of real time (0 before anything ran). */
    public double tasksPerWallSecond() { return wallMs == 0 ? 0 : tasksRun * 1000.0 / wallMs; }

    /** Tasks per second of the driving thread's CPU time (0 before anything ran). */
    public double tasksPerCpuSecond() { return cpuMs == 0 ? 0 : tasksRun * 1000.0 / cpuMs; }

    /** Virtual ms simulated per real ms. */
    public double speedup() { return wallMs == 0 ? 0 : (double) virtualMs / wallMs; }

    @Override public String toString() {
        return String.format(java.util.Locale.ROOT, "%d nodes (%d alive), %,d virtual ms, %,d tasks in %,d ms wall (%,.0f tasks/s, %.1fx real time), "
                        + "%,d ms CPU (%,.0f tasks/CPU-s), %,d sends, %d connections, datagrams %d sent %d lost, %d failed tasks, "
                        + "%d foreign submissions",
                nodes, alive, virtualMs, tasksRun, wallMs, tasksPerWallSecond(), speedup(), cpuMs, tasksPerCpuSecond(),
                sends, connections,
                datagramsSent, datagramsLost, failedTasks, foreignSubmissions);
    }
}
