// See dnnl_shared.h.
#include "dnnl_shared.h"

dnnl_status_t vf_dnnl_conv_weights_mds(int groups, int out_channels, int in_channels, int kh, int kw, dnnl_memory_desc_t *any,
                                       dnnl_memory_desc_t *plain) {
    dnnl_status_t s;
    if (groups > 1) {
        dnnl_dims_t wd = {groups, out_channels / groups, in_channels / groups, kh, kw};
        s = dnnl_memory_desc_init_by_tag(any, 5, wd, dnnl_f32, dnnl_format_tag_any);
        return s != dnnl_success ? s : dnnl_memory_desc_init_by_tag(plain, 5, wd, dnnl_f32, dnnl_goihw);
    }
    dnnl_dims_t wd = {out_channels, in_channels, kh, kw};
    s = dnnl_memory_desc_init_by_tag(any, 4, wd, dnnl_f32, dnnl_format_tag_any);
    return s != dnnl_success ? s : dnnl_memory_desc_init_by_tag(plain, 4, wd, dnnl_f32, dnnl_oihw);
}
