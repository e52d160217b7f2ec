
#compdef liveagent

_liveagent_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _LIVEAGENT_COMPLETE=complete_zsh liveagent)
}

compdef _liveagent_completion liveagent

