// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "links/link_watcher.hpp"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <vector>

namespace xdpgate {

namespace {

int collect_attribute(const nlattr *attr, void *data) {
  if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
      mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
    *static_cast<std::string *>(data) = mnl_attr_get_str(attr);
  return MNL_CB_OK;
}

struct Dispatch {
  const LinkWatcher::Callback *callback;
};

int on_message(const nlmsghdr *message, void *data) {
  auto *dispatch = static_cast<Dispatch *>(data);
  if (message->nlmsg_type != RTM_NEWLINK && message->nlmsg_type != RTM_DELLINK)
    return MNL_CB_OK;
  const auto *info =
      static_cast<const ifinfomsg *>(mnl_nlmsg_get_payload(message));
  LinkEvent event;
  event.ifindex = info->ifi_index;
  event.removed = message->nlmsg_type == RTM_DELLINK;
  mnl_attr_parse(message, sizeof(*info), collect_attribute, &event.name);
  if (!event.name.empty())
    (*dispatch->callback)(event);
  return MNL_CB_OK;
}

} // namespace

void LinkWatcher::MnlDeleter::operator()(mnl_socket *socket) const {
  mnl_socket_close(socket);
}

LinkWatcher::LinkWatcher(std::unique_ptr<mnl_socket, MnlDeleter> socket,
                         Fd stop_event, Callback on_event)
    : socket_(std::move(socket)), stop_event_(std::move(stop_event)),
      on_event_(std::move(on_event)) {}

Result<std::unique_ptr<LinkWatcher>> LinkWatcher::start(Callback on_event) {
  std::unique_ptr<mnl_socket, MnlDeleter> socket(
      mnl_socket_open(NETLINK_ROUTE));
  if (!socket)
    return system_error(ErrorCode::LinkWatchFailed, "opening rtnetlink failed");
  if (mnl_socket_bind(socket.get(), RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
    return system_error(ErrorCode::LinkWatchFailed,
                        "subscribing to link events failed");
  Fd stop(eventfd(0, EFD_CLOEXEC));
  if (!stop.valid())
    return system_error(ErrorCode::LinkWatchFailed,
                        "creating an eventfd failed");
  std::unique_ptr<LinkWatcher> watcher(
      new LinkWatcher(std::move(socket), std::move(stop), std::move(on_event)));
  watcher->thread_ = std::thread([w = watcher.get()] { w->run(); });
  return watcher;
}

LinkWatcher::~LinkWatcher() {
  std::uint64_t one = 1;
  if (::write(stop_event_.get(), &one, sizeof(one)) == sizeof(one) &&
      thread_.joinable())
    thread_.join();
  else if (thread_.joinable())
    thread_.detach();
}

void LinkWatcher::run() {
  std::vector<char> buffer(MNL_SOCKET_BUFFER_SIZE);
  Dispatch dispatch{&on_event_};
  pollfd fds[2] = {{mnl_socket_get_fd(socket_.get()), POLLIN, 0},
                   {stop_event_.get(), POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if (fds[1].revents)
      return;
    ssize_t n =
        mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
    if (n < 0) {
      // ENOBUFS: events were lost; a synthetic event makes the owner
      // re-check everything.
      if (errno == ENOBUFS)
        on_event_(LinkEvent{"", 0, false});
      continue;
    }
    mnl_cb_run(buffer.data(), n, 0, 0, on_message, &dispatch);
  }
}

} // namespace xdpgate
