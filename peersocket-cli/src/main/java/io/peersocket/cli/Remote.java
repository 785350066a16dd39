package io.peersocket.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Calls a running node's control socket and turns an error answer into an exception. */
final class Remote {
    private Remote() {}

    static Map<String, Object> call(Path dataDir, Map<String, Object> request) throws IOException {
        return call(dataDir, request, p -> { });
    }

    /** As {@link #call(Path, Map)}, handing progress lines of long commands to {@code progress}. */
    static Map<String, Object> call(Path dataDir, Map<String, Object> request,
            java.util.function.Consumer<Map<String, Object>> progress) throws IOException {
        Map<String, Object> answer = new HashMap<>(ControlSocket.call(dataDir, request, progress));
        if (!Boolean.TRUE.equals(answer.get("ok"))) {
            throw new IllegalStateException(String.valueOf(answer.get("error")));
        }
        return answer;
    }
}
