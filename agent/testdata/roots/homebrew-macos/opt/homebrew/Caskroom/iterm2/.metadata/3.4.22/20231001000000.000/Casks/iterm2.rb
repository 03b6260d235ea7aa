cask "iterm2" do
  version "3.4.22"
end
