// SPDX-License-Identifier: BSD-3-Clause
// Servers and load generators holding many connections: raise the soft descriptor limit to the hard one
// (the hard one cannot be raised without privileges). No Qt: the raw benchmark tools use it too.
#pragma once

#include <sys/resource.h>

namespace qws::examples {

// Returns the soft limit now in force (0 when it cannot be read).
inline rlim_t raiseFileLimit()
{
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) != 0)
        return 0;
    if (files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &files);
        ::getrlimit(RLIMIT_NOFILE, &files);
    }
    return files.rlim_cur;
}

} // namespace qws::examples
