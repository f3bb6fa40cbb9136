/*
 * The two POSIX calls Node does not expose faithfully:
 *  - utimensat with nanosecond timestamps (fs.utimes takes float seconds, about 1 us off today);
 *  - mknod for FIFOs and device nodes (Node has no mkfifo/mknod).
 * N-API only, so the module is ABI-stable across Node versions.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  napi_value code_value, message_value, error;
  const char *name = "EUNKNOWN";
  switch (err) {
    case ENOENT: name = "ENOENT"; break;
    case EACCES: name = "EACCES"; break;
    case EPERM: name = "EPERM"; break;
    case EEXIST: name = "EEXIST"; break;
    case ENOTDIR: name = "ENOTDIR"; break;
    case ELOOP: name = "ELOOP"; break;
    case EINVAL: name = "EINVAL"; break;
    case EROFS: name = "EROFS"; break;
    case ENAMETOOLONG: name = "ENAMETOOLONG"; break;
  }
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code_value);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, code_value, message_value, &error);
  napi_value errno_value;
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_value syscall_value;
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

/* Copies a Buffer argument into a NUL-terminated C string; NULL (with a JS exception) on failure. */
static char *path_arg(napi_env env, napi_value value) {
  bool is_buffer = false;
  napi_is_buffer(env, value, &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "EINVAL", "path must be a Buffer");
    return NULL;
  }
  void *data;
  size_t length;
  napi_get_buffer_info(env, value, &data, &length);
  if (memchr(data, 0, length) != NULL) {
    napi_throw_type_error(env, "EINVAL", "path contains a NUL byte");
    return NULL;
  }
  char *path = malloc(length + 1);
  if (path == NULL) {
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  memcpy(path, data, length);
  path[length] = 0;
  return path;
}

static bool bigint_arg(napi_env env, napi_value value, int64_t *out) {
  bool lossless = false;
  if (napi_get_value_bigint_int64(env, value, out, &lossless) != napi_ok || !lossless) {
    napi_throw_type_error(env, "EINVAL", "expected a bigint that fits in 64 bits");
    return false;
  }
  return true;
}

static struct timespec to_timespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

/* setTimes(path: Buffer, atimeNs: bigint, mtimeNs: bigint, followSymlinks: boolean): void */
static napi_value set_times(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 4) {
    napi_throw_type_error(env, "EINVAL", "setTimes(path, atimeNs, mtimeNs, followSymlinks)");
    return NULL;
  }
  int64_t atime_ns, mtime_ns;
  bool follow = false;
  if (!bigint_arg(env, argv[1], &atime_ns) || !bigint_arg(env, argv[2], &mtime_ns)) return NULL;
  napi_get_value_bool(env, argv[3], &follow);
  char *path = path_arg(env, argv[0]);
  if (path == NULL) return NULL;
  struct timespec times[2] = {to_timespec(atime_ns), to_timespec(mtime_ns)};
  int rc = utimensat(AT_FDCWD, path, times, follow ? 0 : AT_SYMLINK_NOFOLLOW);
  int err = errno;
  free(path);
  if (rc != 0) return throw_errno(env, "utimensat", err);
  return NULL;
}

/* mknod(path: Buffer, mode: number (type and permission bits), rdev: bigint): void */
static napi_value make_node(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 3) {
    napi_throw_type_error(env, "EINVAL", "mknod(path, mode, rdev)");
    return NULL;
  }
  uint32_t mode;
  int64_t rdev;
  if (napi_get_value_uint32(env, argv[1], &mode) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "mode must be a number");
    return NULL;
  }
  if (!bigint_arg(env, argv[2], &rdev)) return NULL;
  char *path = path_arg(env, argv[0]);
  if (path == NULL) return NULL;
  int rc = mknod(path, (mode_t)mode, (dev_t)rdev);
  int err = errno;
  free(path);
  if (rc != 0) return throw_errno(env, "mknod", err);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setTimes", NULL, set_times, NULL, NULL, NULL, napi_default, NULL},
      {"mknod", NULL, make_node, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
