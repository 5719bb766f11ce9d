/* image.c - CRI v1 ImageService calls (see image.h). */
#include "cri/image.h"

#include "cri/cri-internal.h"
#include "cri/msg.h"
#include "lib/xalloc.h"

int cri_image_list(cri_conn *c, const Runtime__V1__ImageFilter *filter,
                   Runtime__V1__ListImagesResponse **out, kn_error **err)
{
    Runtime__V1__ListImagesRequest req = RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
    req.filter = (Runtime__V1__ImageFilter *)filter;
    return cri_call_into(c, CRI_IMAGE_METHOD("ListImages"), &req.base,
                         &runtime__v1__list_images_response__descriptor, CRI_TIMEOUT_DEFAULT, out,
                         err);
}

int cri_image_status(cri_conn *c, const Runtime__V1__ImageSpec *image, bool verbose,
                     Runtime__V1__ImageStatusResponse **out, kn_error **err)
{
    Runtime__V1__ImageStatusRequest req = RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
    req.image = (Runtime__V1__ImageSpec *)image;
    req.verbose = verbose;
    return cri_call_into(c, CRI_IMAGE_METHOD("ImageStatus"), &req.base,
                         &runtime__v1__image_status_response__descriptor, CRI_TIMEOUT_DEFAULT, out,
                         err);
}

int cri_image_pull(cri_conn *c, const Runtime__V1__ImageSpec *image,
                   const Runtime__V1__AuthConfig *auth,
                   const Runtime__V1__PodSandboxConfig *sandbox_config, int64_t timeout_ms,
                   char **image_ref, kn_error **err)
{
    Runtime__V1__PullImageRequest req = RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
    req.image = (Runtime__V1__ImageSpec *)image;
    req.auth = (Runtime__V1__AuthConfig *)auth;
    req.sandbox_config = (Runtime__V1__PodSandboxConfig *)sandbox_config;
    Runtime__V1__PullImageResponse *resp;
    int r = cri_call_into(c, CRI_IMAGE_METHOD("PullImage"), &req.base,
                          &runtime__v1__pull_image_response__descriptor,
                          timeout_ms > 0 ? timeout_ms : CRI_TIMEOUT_NONE, &resp, err);
    if (r < 0)
        return r;
    *image_ref = xstrdup(resp->image_ref);
    cri_msg_free(resp);
    return 0;
}

int cri_image_remove(cri_conn *c, const Runtime__V1__ImageSpec *image, kn_error **err)
{
    Runtime__V1__RemoveImageRequest req = RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
    req.image = (Runtime__V1__ImageSpec *)image;
    return cri_call_into(c, CRI_IMAGE_METHOD("RemoveImage"), &req.base,
                         &runtime__v1__remove_image_response__descriptor, CRI_TIMEOUT_DEFAULT, NULL,
                         err);
}

int cri_image_fs_info(cri_conn *c, Runtime__V1__ImageFsInfoResponse **out, kn_error **err)
{
    Runtime__V1__ImageFsInfoRequest req = RUNTIME__V1__IMAGE_FS_INFO_REQUEST__INIT;
    return cri_call_into(c, CRI_IMAGE_METHOD("ImageFsInfo"), &req.base,
                         &runtime__v1__image_fs_info_response__descriptor, CRI_TIMEOUT_DEFAULT, out,
                         err);
}
