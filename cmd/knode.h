/* knode.h - the sub-commands of the knode multi-call binary.
 * Each takes the arguments after its own name and returns the exit status. */
#ifndef KNODE_CMD_KNODE_H
#define KNODE_CMD_KNODE_H

int cmd_version(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_standalone(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_kubelet(int argc, char **argv);
int cmd_proxy(int argc, char **argv);
int cmd_dns(int argc, char **argv);
int cmd_token(int argc, char **argv);

#endif
