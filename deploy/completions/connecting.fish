# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_connecting_global_optspecs
    string join \n config= json log-format= h/help V/version
end

function __fish_connecting_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_connecting_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_connecting_using_subcommand
    set -l cmd (__fish_connecting_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c connecting -n "__fish_connecting_needs_command" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_needs_command" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_needs_command" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_needs_command" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_needs_command" -s V -l version -d 'Print version'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "run" -d 'Start what the configuration enables (bot, IMAP poller, dispatcher, outbox, HTTP)'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "migrate" -d 'Create or update the database schema'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "mediator" -d 'Manage mediators'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "operator" -d 'Manage operators (social workers)'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "coordinator" -d 'Manage coordinators'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "invite" -d 'Create a one-time code that links a Telegram account to a person'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "request" -d 'Look at and act on requests'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "parse" -d 'Show what connecting understands of a request (text on stdin, or --eml FILE), as JSON'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "ingest" -d 'Take requests from .eml files, Maildirs, directories or chat .txt files'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "quarantine" -d 'Email that could not be read, kept aside'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "inbound" -d 'Email that created no request (held, refused, automatic, our own...), and why'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "report" -d 'The monthly figures per Ambito (what the cooperative reports for billing)'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "outbox" -d 'Messages that could not be delivered (dead letters), and sending them again'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "purge" -d 'Remove raw messages and anonymise closed requests past their retention'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "demo" -d 'Try connecting on the bundled examples: a fresh SQLite queue, no server or account needed'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "doctor" -d 'Check every configured part (database, Telegram, IMAP, SMTP, OAuth2) and say what to fix'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "oauth2" -d 'OAuth2 mailboxes: `login` runs the device-code flow and stores the refresh token'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "backup" -d 'Write a consistent snapshot of the database, encrypted with age for backup.recipient'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "restore" -d 'Load a backup made by `connecting backup` into a new, empty database'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "console" -d 'The web console: `link` prints a one-time login link for a coordinator or an operator'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "completions" -d 'Print shell completions for bash, zsh or fish'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c connecting -n "__fish_connecting_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand run" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand run" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand run" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand run" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand migrate" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand migrate" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand migrate" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -f -a "add" -d 'Add a mediator'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -f -a "list" -d 'List mediators'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -f -a "import" -d 'Import mediators from a CSV file (header: name,languages,ambiti,phone,telegram_id,gender,availability,email,language)'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -f -a "remove" -d 'Remove a mediator from service (their history stays; their Telegram menu goes back to /start)'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and not __fish_seen_subcommand_from add list import remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l name -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l languages -d 'Language codes, comma-separated (ar,fr,ary)' -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l ambiti -d 'Ambiti served, comma-separated (Dalmine,Seriate)' -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l phone -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l telegram-id -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l email -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l gender -r -f -a "f\t''
m\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l availability -d 'Weekly availability, e.g. "lun-ven 08:00-18:00"; without it, available at any time' -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l language -d 'The language they read (it, en); without it, `[intake] language`' -r -f -a "it\t''
en\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l share-phone -d 'The mediator agrees that requesters get their phone number'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from import" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from import" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from import" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from remove" -l id -r
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a mediator'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from help" -f -a "list" -d 'List mediators'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import mediators from a CSV file (header: name,languages,ambiti,phone,telegram_id,gender,availability,email,language)'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a mediator from service (their history stays; their Telegram menu goes back to /start)'
complete -c connecting -n "__fish_connecting_using_subcommand mediator; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -f -a "add" -d 'Add an operator (social worker)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -f -a "list" -d 'List operators'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -f -a "import" -d 'Import operators from a CSV file (header: name,email,ente,ambito,phone,telegram_id,language)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -f -a "remove" -d 'Remove an operator (their requests stay; their Telegram menu goes back to /start)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and not __fish_seen_subcommand_from add list import remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l name -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l email -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l ente -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l ambito -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l phone -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l telegram-id -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l language -d 'The language they read (it, en); without it, `[intake] language`' -r -f -a "it\t''
en\t''"
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from import" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from import" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from import" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from remove" -l id -r
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add an operator (social worker)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from help" -f -a "list" -d 'List operators'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from help" -f -a "import" -d 'Import operators from a CSV file (header: name,email,ente,ambito,phone,telegram_id,language)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove an operator (their requests stay; their Telegram menu goes back to /start)'
complete -c connecting -n "__fish_connecting_using_subcommand operator; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Add a coordinator (a Telegram id already an operator\'s or a mediator\'s makes that account a coordinator\'s: its menu follows)'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List coordinators'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove a coordinator from service (their name stays in the history; their Telegram account is freed and its menu goes back to /start, or to the role it still has). The last coordinator is not removed'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l name -r
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l telegram-id -r
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l email -r
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l language -d 'The language they read (it, en); without it, `[intake] language`' -r -f -a "it\t''
en\t''"
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from remove" -l id -r
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from remove" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from remove" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from remove" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add a coordinator (a Telegram id already an operator\'s or a mediator\'s makes that account a coordinator\'s: its menu follows)'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from help" -f -a "list" -d 'List coordinators'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a coordinator from service (their name stays in the history; their Telegram account is freed and its menu goes back to /start, or to the role it still has). The last coordinator is not removed'
complete -c connecting -n "__fish_connecting_using_subcommand coordinator; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand invite" -l id -d 'The person\'s id (see `connecting operator|mediator|coordinator list`)' -r
complete -c connecting -n "__fish_connecting_using_subcommand invite" -l days -d 'Days the code stays valid (default: telegram.invite_ttl_days, 7)' -r
complete -c connecting -n "__fish_connecting_using_subcommand invite" -l bot -d 'The bot\'s username for the t.me link (default: telegram.bot_username)' -r
complete -c connecting -n "__fish_connecting_using_subcommand invite" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand invite" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand invite" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand invite" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "list" -d 'List requests, newest first'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "show" -d 'Show one request with its history'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "cancel" -d 'Cancel a request (the assigned mediator and open offers are told)'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "review" -d 'Accept or reject a request held from an unknown sender (status needs_review)'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "meeting" -d 'Cancel or move one meeting of a series (`--following`: it and every later one); the requester and the mediator are told, with the updated invitation'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "outcome" -d 'Record what happened at one meeting of a series (`--meeting N`): done or not, the minutes worked, who did not come. It replaces what was recorded; the series is done once every meeting still on has its outcome'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "assign" -d 'Assign a request to a mediator by hand'
complete -c connecting -n "__fish_connecting_using_subcommand request; and not __fish_seen_subcommand_from list show cancel review meeting outcome assign help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from list" -l status -d 'Only requests in this state (received, needs_info, queued, offered, assigned, confirmed, done, cancelled, escalated, expired, needs_review)' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from list" -l limit -d 'At most this many' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from show" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from show" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from show" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from cancel" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from cancel" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from cancel" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from review" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from review" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from review" -l accept -d 'Accept it: it goes on and the sender gets the acknowledgement'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from review" -l reject -d 'Reject it: cancelled, nobody is written to'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from review" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from review" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l number -d 'The meeting\'s number in the series (1 for the first; `request show` lists them)' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l move -d 'Move it to this local day and time, "YYYY-MM-DD HH:MM" (with `--following`, the later meetings move by the same number of days, to the same time)' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l cancel -d 'Cancel it'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l release -d 'Its mediator cannot take it: it is offered on its own to another mediator (the requester is told; with nobody left, the coordinators are alerted)'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l following -d 'Every later meeting too'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from meeting" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l meeting -d 'The meeting\'s number in the series (1 for the first; `request show` lists them)' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l minutes -d 'The minutes worked (with `--done`; without, the meeting\'s planned length counts)' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l no-show -d 'Who did not come (with `--not-done`): family or mediator' -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l done -d 'It took place'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l not-done -d 'It did not take place'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from outcome" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from assign" -l mediator -r
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from assign" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from assign" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from assign" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from assign" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "list" -d 'List requests, newest first'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one request with its history'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'Cancel a request (the assigned mediator and open offers are told)'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "review" -d 'Accept or reject a request held from an unknown sender (status needs_review)'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "meeting" -d 'Cancel or move one meeting of a series (`--following`: it and every later one); the requester and the mediator are told, with the updated invitation'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "outcome" -d 'Record what happened at one meeting of a series (`--meeting N`): done or not, the minutes worked, who did not come. It replaces what was recorded; the series is done once every meeting still on has its outcome'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "assign" -d 'Assign a request to a mediator by hand'
complete -c connecting -n "__fish_connecting_using_subcommand request; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l now -d 'Reference time for relative dates ("domani", "giovedì"); default: now' -r
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l eml -d 'Read an email (.eml) instead of text from stdin' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l eval -d 'Print per-field accuracy on labelled requests: one JSON object a line with `text`, `now`, `channel`, optional `sender`, `id`, `prepared`, and `expected` (the fields of this command\'s output, all or some); or a fixture directory like tests/fixtures/requests' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l eval-corrections -d 'Print per-field accuracy on the corrections kept in the store (texts an operator or a coordinator corrected, with the corrected fields)'
complete -c connecting -n "__fish_connecting_using_subcommand parse" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand parse" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand ingest" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand ingest" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand ingest" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand ingest" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -f -a "list" -d 'Messages that could not be read, kept aside'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -f -a "retry" -d 'Process a quarantined message again'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and not __fish_seen_subcommand_from list retry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from retry" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from retry" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from retry" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from help" -f -a "list" -d 'Messages that could not be read, kept aside'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Process a quarantined message again'
complete -c connecting -n "__fish_connecting_using_subcommand quarantine; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and not __fish_seen_subcommand_from list help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and not __fish_seen_subcommand_from list help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and not __fish_seen_subcommand_from list help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and not __fish_seen_subcommand_from list help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and not __fish_seen_subcommand_from list help" -f -a "list" -d 'Email that created no request, and why it was set aside'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and not __fish_seen_subcommand_from list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from list" -l kind -d 'Only this kind (codes: new_request, follow_up, cancellation, auto_reply, bounce, read_receipt, bounce_text, pec_receipt, pec_anomaly, mailing_list, own_message, oversized, unparsed, unprocessed)' -r
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from list" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from list" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from list" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from help" -f -a "list" -d 'Email that created no request, and why it was set aside'
complete -c connecting -n "__fish_connecting_using_subcommand inbound; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand report" -l month -d 'The month, YYYY-MM' -r
complete -c connecting -n "__fish_connecting_using_subcommand report" -l ambito -d 'Only this Ambito' -r
complete -c connecting -n "__fish_connecting_using_subcommand report" -l format -d 'table (default), csv, xlsx or pdf' -r
complete -c connecting -n "__fish_connecting_using_subcommand report" -l output -d 'Where to write: a file (table, csv, xlsx; pdf with --ambito), a directory (pdf without --ambito: one file per Ambito). Table and csv go to standard output without it' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand report" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand report" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand report" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand report" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -f -a "dead" -d 'Messages given up on (a permanent refusal, or every attempt failed), with the reason'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -f -a "retry" -d 'Send dead letters again, with a fresh set of attempts'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and not __fish_seen_subcommand_from dead retry help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from dead" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from dead" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from dead" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from dead" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l all -d 'Every dead letter'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from retry" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from retry" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "dead" -d 'Messages given up on (a permanent refusal, or every attempt failed), with the reason'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "retry" -d 'Send dead letters again, with a fresh set of attempts'
complete -c connecting -n "__fish_connecting_using_subcommand outbox; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand purge" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand purge" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand purge" -l dry-run -d 'Show what would be purged, change nothing'
complete -c connecting -n "__fish_connecting_using_subcommand purge" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand purge" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l examples -d 'Folder with mediators.csv, operators.csv and requests/' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l db -d 'SQLite file for the demo queue (recreated on each run)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l port -d 'The console\'s port with --serve' -r
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l serve -d 'Then serve the web console on this machine (127.0.0.1) and print a login link'
complete -c connecting -n "__fish_connecting_using_subcommand demo" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand demo" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand doctor" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand doctor" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand doctor" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and not __fish_seen_subcommand_from login help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and not __fish_seen_subcommand_from login help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and not __fish_seen_subcommand_from login help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and not __fish_seen_subcommand_from login help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and not __fish_seen_subcommand_from login help" -f -a "login" -d 'Log the mailbox in: open the URL, type the code, and the refresh token is stored'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and not __fish_seen_subcommand_from login help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and __fish_seen_subcommand_from login" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and __fish_seen_subcommand_from login" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and __fish_seen_subcommand_from login" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and __fish_seen_subcommand_from help" -f -a "login" -d 'Log the mailbox in: open the URL, type the code, and the refresh token is stored'
complete -c connecting -n "__fish_connecting_using_subcommand oauth2; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand backup" -l to -d 'The file to write (replaced atomically, mode 0600)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand backup" -l recipient -d 'The age public key to encrypt for (default: backup.recipient)' -r
complete -c connecting -n "__fish_connecting_using_subcommand backup" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand backup" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand backup" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand backup" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand restore" -l from -d 'A file written by `connecting backup`' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand restore" -l identity -d 'The age identity file holding the secret key (default: backup.identity_file)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand restore" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand restore" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand restore" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand restore" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand console; and not __fish_seen_subcommand_from link help" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand console; and not __fish_seen_subcommand_from link help" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand console; and not __fish_seen_subcommand_from link help" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand console; and not __fish_seen_subcommand_from link help" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand console; and not __fish_seen_subcommand_from link help" -f -a "link" -d 'Print a one-time login link (valid 10 minutes) for a coordinator or an operator'
complete -c connecting -n "__fish_connecting_using_subcommand console; and not __fish_seen_subcommand_from link help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from link" -l coordinator -d 'The coordinator\'s id (`connecting coordinator list`)' -r
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from link" -l operator -d 'The operator\'s id (`connecting operator list`): a view of their own requests' -r
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from link" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from link" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from link" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from link" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from help" -f -a "link" -d 'Print a one-time login link (valid 10 minutes) for a coordinator or an operator'
complete -c connecting -n "__fish_connecting_using_subcommand console; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand completions" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand completions" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand completions" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand completions" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand man" -l config -d 'Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present)' -r -F
complete -c connecting -n "__fish_connecting_using_subcommand man" -l log-format -d 'Log format: text (default) or json' -r -f -a "text\t''
json\t''"
complete -c connecting -n "__fish_connecting_using_subcommand man" -l json -d 'Print JSON instead of tables'
complete -c connecting -n "__fish_connecting_using_subcommand man" -s h -l help -d 'Print help'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "run" -d 'Start what the configuration enables (bot, IMAP poller, dispatcher, outbox, HTTP)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "migrate" -d 'Create or update the database schema'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "mediator" -d 'Manage mediators'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "operator" -d 'Manage operators (social workers)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "coordinator" -d 'Manage coordinators'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "invite" -d 'Create a one-time code that links a Telegram account to a person'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "request" -d 'Look at and act on requests'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "parse" -d 'Show what connecting understands of a request (text on stdin, or --eml FILE), as JSON'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "ingest" -d 'Take requests from .eml files, Maildirs, directories or chat .txt files'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "quarantine" -d 'Email that could not be read, kept aside'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "inbound" -d 'Email that created no request (held, refused, automatic, our own...), and why'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "report" -d 'The monthly figures per Ambito (what the cooperative reports for billing)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "outbox" -d 'Messages that could not be delivered (dead letters), and sending them again'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "purge" -d 'Remove raw messages and anonymise closed requests past their retention'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "demo" -d 'Try connecting on the bundled examples: a fresh SQLite queue, no server or account needed'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "doctor" -d 'Check every configured part (database, Telegram, IMAP, SMTP, OAuth2) and say what to fix'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "oauth2" -d 'OAuth2 mailboxes: `login` runs the device-code flow and stores the refresh token'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "backup" -d 'Write a consistent snapshot of the database, encrypted with age for backup.recipient'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "restore" -d 'Load a backup made by `connecting backup` into a new, empty database'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "console" -d 'The web console: `link` prints a one-time login link for a coordinator or an operator'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "completions" -d 'Print shell completions for bash, zsh or fish'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and not __fish_seen_subcommand_from run migrate mediator operator coordinator invite request parse ingest quarantine inbound report outbox purge demo doctor oauth2 backup restore console completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from mediator" -f -a "add" -d 'Add a mediator'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from mediator" -f -a "list" -d 'List mediators'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from mediator" -f -a "import" -d 'Import mediators from a CSV file (header: name,languages,ambiti,phone,telegram_id,gender,availability,email,language)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from mediator" -f -a "remove" -d 'Remove a mediator from service (their history stays; their Telegram menu goes back to /start)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from operator" -f -a "add" -d 'Add an operator (social worker)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from operator" -f -a "list" -d 'List operators'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from operator" -f -a "import" -d 'Import operators from a CSV file (header: name,email,ente,ambito,phone,telegram_id,language)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from operator" -f -a "remove" -d 'Remove an operator (their requests stay; their Telegram menu goes back to /start)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from coordinator" -f -a "add" -d 'Add a coordinator (a Telegram id already an operator\'s or a mediator\'s makes that account a coordinator\'s: its menu follows)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from coordinator" -f -a "list" -d 'List coordinators'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from coordinator" -f -a "remove" -d 'Remove a coordinator from service (their name stays in the history; their Telegram account is freed and its menu goes back to /start, or to the role it still has). The last coordinator is not removed'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "list" -d 'List requests, newest first'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "show" -d 'Show one request with its history'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "cancel" -d 'Cancel a request (the assigned mediator and open offers are told)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "review" -d 'Accept or reject a request held from an unknown sender (status needs_review)'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "meeting" -d 'Cancel or move one meeting of a series (`--following`: it and every later one); the requester and the mediator are told, with the updated invitation'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "outcome" -d 'Record what happened at one meeting of a series (`--meeting N`): done or not, the minutes worked, who did not come. It replaces what was recorded; the series is done once every meeting still on has its outcome'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from request" -f -a "assign" -d 'Assign a request to a mediator by hand'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from quarantine" -f -a "list" -d 'Messages that could not be read, kept aside'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from quarantine" -f -a "retry" -d 'Process a quarantined message again'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from inbound" -f -a "list" -d 'Email that created no request, and why it was set aside'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "dead" -d 'Messages given up on (a permanent refusal, or every attempt failed), with the reason'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from outbox" -f -a "retry" -d 'Send dead letters again, with a fresh set of attempts'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from oauth2" -f -a "login" -d 'Log the mailbox in: open the URL, type the code, and the refresh token is stored'
complete -c connecting -n "__fish_connecting_using_subcommand help; and __fish_seen_subcommand_from console" -f -a "link" -d 'Print a one-time login link (valid 10 minutes) for a coordinator or an operator'
