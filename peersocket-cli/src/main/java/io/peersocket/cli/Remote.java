package io.peersocket.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Calls a running node's control socket and turns an error answer into an exception. */
final class Remote {
    private Remote() {}

    static Map<String, Object> call(Path dataDir, Map<String, Object> request) throws IOException {
        Map<String, Object> answer = new HashMap<>(ControlSocket.call(dataDir, request));
        if (!Boolean.TRUE.equals(answer.get("ok"))) {
            throw new IllegalStateException(String.valueOf(answer.get("error")));
        }
        return answer;
    }
}
