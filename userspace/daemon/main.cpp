// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// xdpgated: the xdpgate daemon. Flags override the configuration file.
#include <CLI/CLI.hpp>
#include <bpf/libbpf.h>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "daemon/uninstall.hpp"

namespace {
// libbpf's warnings go to our log. Its "Kernel error message" lines echo
// netlink answers we handle (e.g. probing for an existing clsact qdisc), so
// they are debug detail, not operator news.
int log_libbpf(enum libbpf_print_level level, const char *format,
               va_list args) {
  char line[1024];
  std::vsnprintf(line, sizeof(line), format, args);
  std::string text(line);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  if (level == LIBBPF_WARN && !std::strstr(line, "Kernel error message"))
    spdlog::warn("libbpf: {}", text);
  else
    spdlog::debug("libbpf: {}", text);
  return 0;
}

// Two malloc arenas instead of glibc's eight per core. Every thread that
// allocates gets an arena, and memory freed in one is not reused by another:
// after a 1M import, the list's leftovers held RSS in a dozen arenas (one
// per API connection, plus the store's writer), 297 MB against 269 MB with
// two, at the same speed. The daemon serves one change at a time, so two
// are not contended. An operator's MALLOC_ARENA_MAX is kept.
void limit_malloc_arenas() {
  if (!std::getenv("MALLOC_ARENA_MAX"))
    mallopt(M_ARENA_MAX, 2);
}

} // namespace

int main(int argc, char **argv) {
  xdpgate::DaemonOptions options;
  options.config_path = std::string(xdpgate::kDefaultConfigPath);
  std::string socket, state_dir;
  bool do_uninstall = false;

  CLI::App app{"xdpgated: the xdpgate IP allow-list daemon"};
  app.footer(
      "Examples:\n"
      "  xdpgated --interface eth1\n"
      "  xdpgated --config /etc/xdpgate/xdpgate.toml\n"
      "  xdpgated --uninstall                   # detach, remove all its pins\n"
      "  xdpgated --uninstall --interface eth2  # only eth2's program, pins\n"
      "  # a second daemon (another network namespace or container):\n"
      "  xdpgated --state-dir /var/lib/xg-b --socket /run/xg-b.sock \\\n"
      "    --bpf-pin-dir /sys/fs/bpf/xg-b --interface eth1\n"
      "A pin directory belongs to the daemon of one state directory;\n"
      "another daemon needs a --bpf-pin-dir of its own. --uninstall runs\n"
      "with the daemon stopped, in its network namespace, with its\n"
      "--state-dir (or --config).\n"
      "Signals: SIGTERM stops (filtering stays attached), SIGHUP reloads\n"
      "the configuration.");
  app.add_option("--config", options.config_path,
                 "configuration file (default /etc/xdpgate/xdpgate.toml)")
      ->each([&](const std::string &) { options.config_path_given = true; });
  app.add_option("--interface", options.interfaces,
                 "protect this interface (repeatable; replaces the file's "
                 "list); with --uninstall, remove only its program and pins");
  app.add_option("--socket", socket, "control socket path");
  app.add_option("--state-dir", state_dir, "where the list is stored");
  app.add_option("--bpf-pin-dir", options.pin_dir,
                 "where maps and links are pinned (default "
                 "/sys/fs/bpf/xdpgate); one per daemon");
  app.add_flag("--uninstall", do_uninstall,
               "detach from this daemon's interfaces and remove its pins, "
               "then exit");
  CLI11_PARSE(app, argc, argv);
  limit_malloc_arenas();

  if (!socket.empty())
    options.socket = socket;
  if (!state_dir.empty())
    options.state_dir = state_dir;
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  libbpf_set_print(log_libbpf);
  return do_uninstall ? xdpgate::uninstall(options)
                      : xdpgate::run_daemon(options);
}
