/**
 * Predicates over runtime events from inside Lambda functions.
 */
import type { RulePredicate } from '../../engine/condition.js';

/**
 * Command lines that open an interactive shell over a socket, the one-liners
 * of every reverse-shell cheat sheet: bash's `/dev/tcp`, netcat / ncat with a
 * program to run, socat with `exec:`, a named pipe fed to netcat, and the
 * socket-plus-shell idioms of python, perl, php and ruby.
 */
const REVERSE_SHELL: readonly RegExp[] = [
  /\/dev\/(tcp|udp)\/[^/\s]+\/\d+/,
  /(^|[\s/])(nc|ncat|netcat|nc\.traditional|nc\.openbsd)(\s+\S+)*\s+(-e|-c|--exec|--sh-exec|--lua-exec)(\s|=|$)/,
  /(^|[\s/])socat(\s+\S+)*\s+(exec|system):/i,
  /mkfifo\s+\S+.*\|\s*(\/\S*\/)?(nc|ncat|netcat|openssl)\s/,
  /(^|[\s/])(ba|da|z|k)?sh\s+-i\b.*[|>&]/,
  /import\s+.*socket.*(subprocess|pty|os\.dup2)/s,
  /(os\.dup2|pty\.spawn)\s*\(.*socket|socket\.socket\s*\(.*(os\.dup2|pty\.spawn|subprocess)/s,
  /use\s+Socket.*(exec|open)\s*\(/s,
  /fsockopen\s*\(.*(exec|shell_exec|system|proc_open|popen)\s*\(/s,
  /TCPSocket\.(new|open)\s*\(.*(exec|spawn|IO\.popen)/s,
  /openssl\s+s_client\s+.*-connect\s.*\|\s*(\/bin\/)?(ba)?sh/,
];

/** True when the launched program's command line is a reverse-shell one-liner. */
export const runtimeReverseShellCommandLine: RulePredicate = (event) => {
  if (event.source !== 'aws.lambda.runtime') return false;
  const line = event.process?.cmd_line;
  if (line === undefined || line.length < 6) return false;
  return REVERSE_SHELL.some((pattern) => pattern.test(line));
};

export const RUNTIME_PREDICATES: Readonly<Record<string, RulePredicate>> = {
  runtimeReverseShellCommandLine,
};
