#ifndef C_INCIDENT_SHIMS_H
#define C_INCIDENT_SHIMS_H
#include <spawn.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34+), which Swift cannot see without _GNU_SOURCE:
/// the spawned child closes every descriptor from `from` on, so a server it starts inherits none of ours.
int incident_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
