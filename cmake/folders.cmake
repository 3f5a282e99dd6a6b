# One static library per folder, linked to exactly the folders it includes.
# This list is the architecture: tests/unit/layering/layering_test.cpp fails
# when a file includes a folder not listed for its own, when the folders form
# a cycle, or when agent/ and aggregator/ reach into each other (both may use
# shared/ only, and shared/ neither). A folder is two path levels deep
# (agent/platform holds agent/platform/linux).
#
#            folder                    folders it may include
hale_folder(shared/util)
hale_folder(shared/config)
hale_folder(shared/sqlite)
hale_folder(shared/crypto              shared/util)
hale_folder(shared/net                 shared/util)
hale_folder(shared/mqtt                shared/util)
hale_folder(shared/wire                shared/crypto shared/util)
hale_folder(shared/app                 shared/config shared/mqtt shared/util)

hale_folder(agent/platform             shared/net shared/util)
hale_folder(agent/state                agent/platform shared/crypto shared/sqlite shared/util shared/wire)
hale_folder(agent/limits               agent/state shared/config shared/sqlite shared/util)
hale_folder(agent/ci                   agent/limits agent/platform shared/config shared/crypto shared/sqlite shared/util
                                       shared/wire)
hale_folder(agent/checks               agent/ci agent/platform agent/state shared/config shared/crypto shared/net
                                       shared/util shared/wire)
hale_folder(agent/issues               agent/checks agent/state)
hale_folder(agent/drills               agent/checks agent/platform shared/config shared/crypto shared/util)
hale_folder(agent/remedies             agent/checks agent/limits agent/platform agent/state shared/config
                                       shared/crypto shared/net shared/sqlite shared/util shared/wire)
hale_folder(agent/core                 agent/checks agent/ci agent/drills agent/issues agent/limits agent/platform
                                       agent/remedies agent/state shared/app shared/config shared/crypto shared/mqtt
                                       shared/sqlite shared/util shared/wire)
hale_folder(agent/cli                  agent/checks agent/ci agent/core agent/drills agent/limits agent/remedies
                                       agent/state shared/app shared/config shared/util)

hale_folder(aggregator/dashboard)
hale_folder(aggregator/storage         shared/sqlite shared/wire)
hale_folder(aggregator/ingest          aggregator/storage shared/util shared/wire)
hale_folder(aggregator/health          aggregator/storage shared/util)
hale_folder(aggregator/failover        aggregator/storage shared/config shared/crypto shared/util shared/wire)
hale_folder(aggregator/notify          aggregator/storage shared/config shared/crypto shared/net shared/util)
hale_folder(aggregator/webhooks        aggregator/notify aggregator/storage shared/app shared/config shared/crypto
                                       shared/util)
hale_folder(aggregator/api             aggregator/dashboard aggregator/failover aggregator/health aggregator/ingest
                                       aggregator/storage aggregator/webhooks shared/crypto shared/util shared/wire)
hale_folder(aggregator/core            aggregator/api aggregator/failover aggregator/health aggregator/ingest
                                       aggregator/notify aggregator/storage aggregator/webhooks shared/app
                                       shared/config shared/crypto shared/mqtt shared/util shared/wire)
hale_folder(aggregator/cli             aggregator/core aggregator/failover aggregator/storage shared/app
                                       shared/crypto shared/mqtt shared/util shared/wire)
