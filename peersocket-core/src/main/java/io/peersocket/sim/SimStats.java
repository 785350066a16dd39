package io.peersocket.sim;

/**
 * A snapshot of a simulation's progress and cost ({@link Simulator#stats()}).
 *
 * @param nodes nodes in the simulation
 * @param alive nodes not crashed
 * @param virtualMs virtual time since the start, ms
 * @param tasksRun event-loop tasks run (deliveries, timers, protocol work) — the "events" of the simulation
 * @param wallMs real time spent running the loop, ms
 * @param sends link-model consultations (stream events, datagrams and dials across the network)
 * @param datagramsSent datagrams handed to the network (including lost ones)
 * @param datagramsLost datagrams dropped by loss or unreachability
 * @param connections established connections (each counted once)
 * @param failedTasks loop tasks that threw (logged)
 * @param foreignSubmissions loop submissions from other threads (determinism leaks; 0 in a sound run)
 */
public record SimStats(int nodes, int alive, long virtualMs, long tasksRun, long wallMs, long sends,
                       long datagramsSent, long datagramsLost, int connections, long failedTasks,
                       long foreignSubmissions) {

    /** Tasks per second of real time (0 before anything ran). */
    public double tasksPerWallSecond() { return wallMs == 0 ? 0 : tasksRun * 1000.0 / wallMs; }

    /** Virtual ms simulated per real ms. */
    public double speedup() { return wallMs == 0 ? 0 : (double) virtualMs / wallMs; }

    @Override public String toString() {
        return String.format("%d nodes (%d alive), %,d virtual ms, %,d tasks in %,d ms (%,.0f tasks/s, %.1fx real time), "
                        + "%,d sends, %d connections, datagrams %d sent %d lost, %d failed tasks, %d foreign submissions",
                nodes, alive, virtualMs, tasksRun, wallMs, tasksPerWallSecond(), speedup(), sends, connections,
                datagramsSent, datagramsLost, failedTasks, foreignSubmissions);
    }
}
