/* image.h - the CRI v1 ImageService, one function per RPC.
 *
 * Same conventions as runtime.h: borrowed requests, replies owned by the
 * caller (cri_msg_free), strings freed with free(), checked replies, errors
 * with the gRPC method and status details. */
#ifndef KNODE_CRI_IMAGE_H
#define KNODE_CRI_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "cri/api.pb-c.h"
#include "cri/grpc.h"
#include "lib/error.h"

/* ListImages; every image has an id. */
int cri_image_list(cri_conn *c, const Runtime__V1__ImageFilter *filter,
                   Runtime__V1__ListImagesResponse **out, kn_error **err);

/* ImageStatus. An image that is not present is not an error: (*out)->image
 * is NULL then; otherwise it has an id and a non-zero size. */
int cri_image_status(cri_conn *c, const Runtime__V1__ImageSpec *image, bool verbose,
                     Runtime__V1__ImageStatusResponse **out, kn_error **err);

/* PullImage with optional registry credentials (auth may be NULL) and the
 * pod's sandbox config (may be NULL). timeout_ms bounds the pull; 0 means no
 * deadline, as the kubelet pulls. *image_ref (non-empty) is owned by the
 * caller. */
int cri_image_pull(cri_conn *c, const Runtime__V1__ImageSpec *image,
                   const Runtime__V1__AuthConfig *auth,
                   const Runtime__V1__PodSandboxConfig *sandbox_config, int64_t timeout_ms,
                   char **image_ref, kn_error **err);

/* RemoveImage: idempotent in the runtime. */
int cri_image_remove(cri_conn *c, const Runtime__V1__ImageSpec *image, kn_error **err);

/* ImageFsInfo. */
int cri_image_fs_info(cri_conn *c, Runtime__V1__ImageFsInfoResponse **out, kn_error **err);

#endif
