/* The frame ring's reader hot path in C (optional: ptpd.framering falls back to Python).
 *
 * Sixteen readers woken at once on a small machine run one after another, each with
 * caches gone cold, and the last one's frame is late by the sum of their work. In Python
 * the wait and copy cost a reader about a third more CPU per wake-up (the interpreter's
 * steps and the ctypes call around the futex); here they are the futex call, one copy
 * and one tuple.
 *
 * The layout is the one ptpd/framering.py documents. The writer stores a slot's ``begin``,
 * then the frame, then ``end`` and ``published``; a reader loads ``published`` and the
 * slot's ``end`` (acquire), copies, and loads ``begin`` again after an acquire fence: if
 * the writer came round to the slot meanwhile, ``begin`` changed and the copy is dropped.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <linux/futex.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEADER_SIZE 4096
#define SLOT_HEADER 72
#define OFF_WORD 24
#define OFF_STATE 28
#define OFF_PUBLISHED 32
#define STATE_CLOSED 1
#define MAX_SLEEP 0.5 /* seconds: look at the state and signals at least this often */
#define TRIES 4       /* copies overwritten in a row before the reader sleeps on */

static double monotonic(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline uint64_t load64(const uint8_t *p)
{
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

static inline uint32_t load32(const uint8_t *p)
{
    return __atomic_load_n((const uint32_t *)p, __ATOMIC_ACQUIRE);
}

/* The slot's fields, read as the writer packs them (little-endian, as every machine
 * ptpd runs on: the Python side refuses to use this module elsewhere). */
static PyObject *slot_tuple(const uint8_t *slot, uint64_t n, uint32_t hlen, uint32_t jlen)
{
    uint64_t seq;
    int64_t counter;
    double t_camera, t_daemon, t_wall;
    uint32_t width, height;
    memcpy(&seq, slot + 24, 8);
    memcpy(&counter, slot + 32, 8);
    memcpy(&t_camera, slot + 40, 8);
    memcpy(&t_daemon, slot + 48, 8);
    memcpy(&t_wall, slot + 56, 8);
    memcpy(&width, slot + 64, 4);
    memcpy(&height, slot + 68, 4);
    PyObject *t = PyTuple_New(9);
    if (t == NULL)
        return NULL;
    /* PyTuple_SET_ITEM takes NULL too: the check at the end catches any that failed */
    PyTuple_SET_ITEM(t, 0, PyLong_FromUnsignedLongLong(n));
    PyTuple_SET_ITEM(t, 1, PyLong_FromUnsignedLongLong(seq));
    PyTuple_SET_ITEM(t, 2, PyLong_FromLongLong(counter));
    PyTuple_SET_ITEM(t, 3, PyFloat_FromDouble(t_camera));
    PyTuple_SET_ITEM(t, 4, PyFloat_FromDouble(t_daemon));
    PyTuple_SET_ITEM(t, 5, PyFloat_FromDouble(t_wall));
    PyTuple_SET_ITEM(t, 6, PyLong_FromUnsignedLong(width));
    PyTuple_SET_ITEM(t, 7, PyLong_FromUnsignedLong(height));
    PyTuple_SET_ITEM(t, 8, PyBytes_FromStringAndSize((const char *)slot + hlen, jlen));
    for (int i = 0; i < 9; i++) {
        if (PyTuple_GET_ITEM(t, i) == NULL) {
            Py_DECREF(t); /* a tuple's dealloc skips NULL items */
            return NULL;
        }
    }
    return t;
}

PyDoc_STRVAR(wait_doc,
"wait(addr, slots, slot_size, last, timeout) -> tuple | None\n\n"
"The newest frame of the ring mapped at ``addr`` if its number is not ``last``, waiting\n"
"up to ``timeout`` seconds for one (0: do not wait): a tuple in RingFrame's order, or\n"
"None on timeout or once the writer closed the ring. The map must stay for the call;\n"
"``addr`` 0 (a closed reader) raises ValueError.");

static PyObject *ring_wait(PyObject *Py_UNUSED(self), PyObject *args)
{
    unsigned long long addr_in, slot_size, last;
    unsigned int slots;
    double timeout;
    if (!PyArg_ParseTuple(args, "KIKKd", &addr_in, &slots, &slot_size, &last, &timeout))
        return NULL;
    if (addr_in == 0) { /* the reader's close() leaves 0 for the address */
        PyErr_SetString(PyExc_ValueError, "frame ring reader is closed");
        return NULL;
    }
    if (isnan(timeout)) { /* as the Python loop: never a wait that cannot end */
        PyErr_SetString(PyExc_ValueError, "timeout is not a number");
        return NULL;
    }
    if (slots < 2 || slot_size <= SLOT_HEADER) {
        PyErr_SetString(PyExc_ValueError, "not a frame ring's geometry");
        return NULL;
    }
    const uint8_t *base = (const uint8_t *)(uintptr_t)addr_in;
    double deadline = 0.0;
    int tries = 0;
    for (;;) {
        /* the word first: a frame published after this load changes it, and the futex
         * call then returns at once instead of sleeping through the frame */
        uint32_t word = load32(base + OFF_WORD);
        uint64_t n = load64(base + OFF_PUBLISHED);
        if (n != last && tries < TRIES) {
            tries++;
            const uint8_t *slot = base + HEADER_SIZE + (n % slots) * slot_size;
            uint64_t end = load64(slot + 8);
            uint32_t hlen, jlen;
            memcpy(&hlen, slot + 16, 4);
            memcpy(&jlen, slot + 20, 4);
            if (end == n && hlen >= SLOT_HEADER && (uint64_t)hlen + jlen <= slot_size) {
                PyObject *frame = slot_tuple(slot, n, hlen, jlen);
                if (frame == NULL)
                    return NULL;
                __atomic_thread_fence(__ATOMIC_ACQUIRE);
                if (load64(slot) == n)
                    return frame;
                Py_DECREF(frame);
            }
            continue; /* overwritten while we copied: the (new) newest again */
        }
        if (load32(base + OFF_STATE) == STATE_CLOSED)
            Py_RETURN_NONE;
        double now = monotonic();
        if (deadline == 0.0)
            deadline = now + timeout;
        double left = deadline - now;
        if (left <= 0)
            Py_RETURN_NONE;
        if (left > MAX_SLEEP)
            left = MAX_SLEEP;
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        Py_BEGIN_ALLOW_THREADS
        syscall(SYS_futex, (const uint32_t *)(base + OFF_WORD), FUTEX_WAIT, word, &ts, NULL, 0);
        Py_END_ALLOW_THREADS
        if (PyErr_CheckSignals() < 0) /* Ctrl-C in a waiting main thread */
            return NULL;
        tries = 0;
    }
}

static PyMethodDef methods[] = {
    {"wait", ring_wait, METH_VARARGS, wait_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "ptpd._ringwait",
    .m_doc = "The frame ring reader's hot path (see ptpd.framering).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__ringwait(void)
{
    return PyModule_Create(&module);
}
